{#
    The facts that dimension rules test, one row per service item, fact and value. A fact
    the data does not state has no row. The fact ids are those of FACTS in
    huiju/editorial/dimensions.py.
#}

with

service_items as (

    select * from {{ ref('fct_service_item') }}

),

evidence as (

    select * from {{ ref('int_service_item_evidence') }}

),

coverage as (

    select * from {{ ref('int_catalog_code_coverage') }}

),

implementations as (

    select * from {{ ref('int_catalog_code_implementations') }}

),

field_variance as (

    select * from {{ ref('int_catalog_code_field_variance') }}

),

codelists as (

    select * from {{ ref('stg_reference__service_item_codelists') }}

),

sites as (

    select * from {{ source('editorial_dimensions', 'sites') }}

),

state_council_departments as (

    select * from {{ ref('state_council_departments') }}

),

items as (

    select
        service_items.service_item_id,
        service_items.task_name,
        service_items.task_type_code,
        service_items.dept_name,
        service_items.catalog_code,
        service_items.has_usable_link,
        coalesce(service_items.region_code, service_items.link_area_code) as implementation_region_code,
        case
            when service_items.has_usable_link
                then lower(regexp_extract(service_items.link_url, '^[a-zA-Z]+://([^/?#:@]+)', 1))
        end as link_host,
        evidence.serve_object,
        evidence.use_level,
        evidence.handle_area,
        evidence.by_law,
        evidence.plan_effective_date,
        evidence.plan_cancel_date

    from service_items
    left join evidence using (service_item_id)

),

coded_fields as (

    -- 服务对象, 行使层级 and 通办范围 may hold several codes or labels, separated by commas,
    -- semicolons, 、 or spaces. A label is mapped to its code; any other token is kept as
    -- published, so no rule matches it but the evidence shows it.
    select service_item_id, 'serve_object' as fact, 'server_type' as codelist_field, serve_object as field_text
    from items where serve_object is not null
    union all
    select service_item_id, 'use_level', 'use_level', use_level
    from items where use_level is not null
    union all
    select service_item_id, 'handle_area', 'handle_area', handle_area
    from items where handle_area is not null

),

coded_tokens as (

    select
        service_item_id,
        fact,
        codelist_field,
        unnest(string_split_regex(field_text, '[,;，；、\s]+')) as token

    from coded_fields

),

coded_facts as (

    select distinct
        coded_tokens.service_item_id,
        coded_tokens.fact,
        coalesce(by_code.code, by_label.code, coded_tokens.token) as fact_value

    from coded_tokens
    left join codelists as by_code
        on coded_tokens.codelist_field = by_code.field_name
        and coded_tokens.token = by_code.code
    left join codelists as by_label
        on coded_tokens.codelist_field = by_label.field_name
        and coded_tokens.token = by_label.label
    where coded_tokens.token != ''

),

region_levels as (

    -- Level of a 12-digit GB/T 2260 region code by its trailing zeros: 51 0000000000
    -- province, 5116 00000000 prefecture, 511602 000000 county, 511602001 000 town.
    select
        service_item_id,
        case
            when substr(implementation_region_code, 3) = '0000000000' then 'province'
            when substr(implementation_region_code, 5) = '00000000' then 'prefecture'
            when substr(implementation_region_code, 7) = '000000' then 'county'
            when substr(implementation_region_code, 10) = '000' then 'town'
            else 'village'
        end as region_level

    from items
    where regexp_matches(implementation_region_code, '^[1-9][0-9]{11}$')

),

online_implementations as (

    select distinct
        catalog_code,
        implementation_region_code

    from implementations
    where has_usable_link

),

online_region_counts as (

    select
        catalog_code,
        count(*) as region_count

    from online_implementations
    group by catalog_code

),

other_online_regions as (

    -- The regions with an online implementation of the item's 基本编码, less the item's own
    -- region. Counting them per code and subtracting keeps this linear: a join of each item with
    -- every implementation of its code grows with the square of a code's implementations.
    select
        items.service_item_id,
        coalesce(online_region_counts.region_count, 0)
            - case when own_region.catalog_code is null then 0 else 1 end as online_region_count

    from items
    left join online_region_counts using (catalog_code)
    left join online_implementations as own_region
        on items.catalog_code = own_region.catalog_code
        and items.implementation_region_code = own_region.implementation_region_code
    where items.catalog_code is not null

),

item_variance as (

    select
        service_item_id,
        case
            when bool_or(variance = 'differentiated') then 'differentiated'
            when bool_or(variance = 'standard') then 'standard'
        end as implementation_variance

    from field_variance
    group by service_item_id

),

department_matches as (

    -- An agency is a State Council department when its name contains the department's
    -- short or official name, such as 中华人民共和国人力资源和社会保障部.
    -- NOTE: a local branch whose name contains the department's name (中国人民银行 … 支行)
    -- also matches. The 广安区 catalog has no such agency, and an override corrects one.
    select
        items.service_item_id,
        min(state_council_departments.name) as department_name

    from items
    inner join state_council_departments
        on contains(items.dept_name, state_council_departments.name)
        or contains(items.dept_name, state_council_departments.official_name)
    group by items.service_item_id

),

facts as (

    select service_item_id, 'task_type' as fact, task_type_code as fact_value from items
    union all
    select service_item_id, 'task_name', task_name from items
    union all
    select service_item_id, 'dept_name', dept_name from items
    union all
    select service_item_id, 'link_host', link_host from items
    union all
    select items.service_item_id, 'link_site_kind', sites.site_kind
    from items inner join sites on items.link_host = sites.host
    union all
    select service_item_id, 'has_usable_link', case when has_usable_link then 'true' else 'false' end from items
    union all
    select service_item_id, fact, fact_value from coded_facts
    union all
    select service_item_id, 'region_level', region_level from region_levels
    union all
    select items.service_item_id, 'catalog_region_count', cast(coverage.region_count as varchar)
    from items inner join coverage using (catalog_code)
    union all
    select service_item_id, 'catalog_online_other_region_count', cast(online_region_count as varchar)
    from other_online_regions
    union all
    select service_item_id, 'state_council_department', department_name from department_matches
    union all
    select service_item_id, 'by_law', by_law from items
    union all
    select service_item_id, 'plan_effective_date', plan_effective_date from items
    union all
    select service_item_id, 'plan_cancel_date', plan_cancel_date from items
    union all
    select service_item_id, 'implementation_variance', implementation_variance from item_variance

),

final as (

    select distinct
        service_item_id,
        fact,
        fact_value

    from facts
    where fact_value is not null

)

select * from final
