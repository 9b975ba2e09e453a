with

systems as (

    select * from {{ source('editorial_content', 'business_systems') }}

),

departments as (

    select * from {{ source('editorial_content', 'business_system_departments') }}

),

applications as (

    select * from {{ source('editorial_content', 'business_system_applications') }}

),

rules as (

    select * from {{ source('editorial_content', 'business_system_rules') }}

),

links as (

    select * from {{ ref('bridge_service_business_system') }}

),

department_lists as (

    select
        system_id,
        list(official_name order by department_name) filter (where role = 'current') as current_departments,
        list(official_name order by department_name) filter (where role = 'historical') as historical_departments,
        list(
            {'name': department_name, 'official_name': official_name, 'kind': department_kind, 'role': role,
             'period': period, 'certainty': certainty, 'note': note}
            order by role, department_name
        ) as departments,
        bool_or(certainty = 'uncertain') as has_uncertain_department

    from departments
    group by system_id

),

application_lists as (

    select
        system_id,
        list({'name': application_name, 'url': url, 'note': note} order by application_name) as applications

    from applications
    group by system_id

),

rule_counts as (

    select system_id, count(*) as rule_count
    from rules
    group by system_id

),

service_counts as (

    select system_id, count(distinct service_item_id) as service_item_count
    from links
    group by system_id

),

final as (

    select
        systems.system_id,
        systems.system_order,
        systems.name,
        systems.full_name,
        systems.description,
        coalesce(department_lists.current_departments, []::varchar[]) as current_departments,
        coalesce(department_lists.historical_departments, []::varchar[]) as historical_departments,
        department_lists.departments,
        coalesce(department_lists.has_uncertain_department, false) as has_uncertain_department,
        coalesce(application_lists.applications, []) as applications,
        coalesce(rule_counts.rule_count, 0) as rule_count,
        coalesce(service_counts.service_item_count, 0) as service_item_count

    from systems
    left join department_lists using (system_id)
    left join application_lists using (system_id)
    left join rule_counts using (system_id)
    left join service_counts using (system_id)

)

select * from final
