with

service_items as (

    select * from {{ ref('int_service_items_unioned') }}

),

codelists as (

    select * from {{ ref('stg_reference__service_item_codelists') }}

),

task_types as (

    select
        code as task_type_code,
        label as task_type_label

    from codelists
    where field_name = 'task_type'

),

normalized as (

    select
        *,
        nullif({{ normalize_text('task_name_raw') }}, '') as task_name,
        nullif({{ text_match_key('task_name_raw') }}, '') as task_name_key,
        nullif({{ normalize_text('dept_name_raw') }}, '') as dept_name,
        nullif({{ normalize_text('dept_code_raw') }}, '') as dept_code,
        nullif({{ normalize_text('main_task_name_raw') }}, '') as main_task_name,
        nullif({{ normalize_text('link_url_raw') }}, '') as link_url,
        nullif({{ normalize_text('task_type_raw') }}, '') as task_type_published,
        nullif({{ normalize_text('task_type_label_raw') }}, '') as task_type_label_published

    from service_items

),

with_links as (

    select
        *,
        nullif(regexp_extract(link_url, '[?&]areaCode=([^&#]*)', 1), '') as link_area_code,
        -- Usable means an absolute http(s) URL with a host and no whitespace.
        -- Relative paths and javascript: links are not usable.
        coalesce(
            regexp_matches(link_url, '^https?://[^/?#\s:@]+(:[0-9]+)?([/?#]\S*)?$', 'i'),
            false
        ) as has_usable_link,
        -- JSON sources publish the code unpadded ("1"), and the code list pads
        -- it to 2 digits. A value that is not 1-2 digits gives no code.
        case
            when regexp_matches(task_type_published, '^[0-9]$') then '0' || task_type_published
            when regexp_matches(task_type_published, '^[0-9]{2}$') then task_type_published
        end as task_type_code_published

    from normalized

),

with_task_types as (

    select
        with_links.*,
        coalesce(with_links.task_type_code_published, types_by_label.task_type_code) as task_type_code,
        coalesce(types_by_code.task_type_label, types_by_label.task_type_label) as task_type_label

    from with_links
    left join task_types as types_by_code
        on with_links.task_type_code_published = types_by_code.task_type_code
    left join task_types as types_by_label
        on with_links.task_type_code_published is null
        and with_links.task_type_label_published = types_by_label.task_type_label

),

final as (

    select
        source_record_id,
        source_id,
        source_format,
        run_id,
        landing_file,
        record_position,
        task_name_raw,
        task_name,
        task_name_key,
        task_code_raw,
        catalog_code_raw,
        task_type_raw,
        task_type_label_raw,
        task_type_code,
        task_type_label,
        dept_name_raw,
        dept_name,
        dept_code_raw,
        dept_code,
        link_url_raw,
        link_url,
        link_area_code,
        has_usable_link,
        main_task_name_raw,
        main_task_name,
        record

    from with_task_types

)

select * from final
