{#
    The four forms of content of each theme: 通知公告 (and 政策文件), 政策解读, 办事指南 and
    业务应用系统. Notices and policy documents come from the editors' content rules, service
    guides are the guide links of the services in the theme's steps, and business systems are
    those that a step names or that a step's service is linked to.
#}

with

themes as (

    select * from {{ source('editorial_themes', 'theme_definitions') }}

),

step_systems as (

    select * from {{ source('editorial_themes', 'theme_step_systems') }}

),

steps as (

    select * from {{ ref('mart_theme_steps') }}

),

documents as (

    select
        bridge.theme_id,
        content.content_kind as content_form,
        cast(null as varchar) as step_id,
        content.content_id as item_id,
        content.title,
        content.link_url as url,
        content.publisher as provider,
        content.published_on,
        bridge.evidence

    from {{ ref('bridge_theme_content') }} as bridge
    inner join {{ ref('fct_content_item') }} as content using (content_id)

),

service_guides as (

    select
        theme_id,
        'service_guide' as content_form,
        step_id,
        service_item_id as item_id,
        task_name as title,
        link_url as url,
        dept_name as provider,
        cast(null as date) as published_on,
        '步骤“' || step_name || '”的事项' as evidence

    from steps
    where link_url is not null

),

named_systems as (

    select
        step_systems.theme_id,
        step_systems.step_id,
        step_systems.business_system_id as system_id,
        steps.step_position,
        '步骤“' || steps.step_name || '”使用' as evidence

    from step_systems
    inner join {{ source('editorial_themes', 'theme_steps') }} as steps
        on steps.theme_id = step_systems.theme_id
        and steps.step_id = step_systems.step_id

),

linked_systems as (

    select
        steps.theme_id,
        steps.step_id,
        links.system_id,
        steps.step_position,
        '步骤“' || steps.step_name || '”的事项“' || steps.task_name || '”：' || links.evidence as evidence

    from steps
    inner join {{ ref('bridge_service_business_system') }} as links using (service_item_id)

),

system_evidence as (

    select
        theme_id,
        system_id,
        arg_min(step_id, step_position) as step_id,
        string_agg(distinct evidence, '；' order by evidence) as evidence

    from (select * from named_systems union all select * from linked_systems)
    group by theme_id, system_id

),

business_systems as (

    select
        system_evidence.theme_id,
        'business_system' as content_form,
        system_evidence.step_id,
        systems.system_id as item_id,
        systems.name as title,
        cast(null as varchar) as url,
        array_to_string(systems.current_departments, '、') as provider,
        cast(null as date) as published_on,
        system_evidence.evidence

    from system_evidence
    inner join {{ ref('dim_business_system') }} as systems using (system_id)

),

unioned as (

    select * from documents
    union all
    select * from service_guides
    union all
    select * from business_systems

),

final as (

    select
        unioned.theme_id,
        themes.theme_name,
        unioned.content_form,
        case unioned.content_form
            when 'notice' then '通知公告'
            when 'policy_document' then '政策文件'
            when 'policy_interpretation' then '政策解读'
            when 'service_guide' then '办事指南'
            when 'business_system' then '业务应用系统'
        end as content_form_label,
        unioned.step_id,
        unioned.item_id,
        unioned.title,
        unioned.url,
        unioned.provider,
        unioned.published_on,
        unioned.evidence,
        row_number() over (
            partition by unioned.theme_id, unioned.content_form
            order by unioned.published_on desc nulls last, unioned.step_id nulls last, unioned.title, unioned.item_id
        ) as item_rank

    from unioned
    inner join themes using (theme_id)

)

select * from final
