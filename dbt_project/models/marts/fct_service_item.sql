with

service_items as (

    select * from {{ ref('int_service_items_deduplicated') }}

),

survivors as (

    select * from service_items
    where disposition = 'survivor'

),

evidence as (

    -- Every source that published a record of the item, the survivor's included.
    select
        service_item_id,
        list(distinct source_id order by source_id) as evidence_source_ids

    from service_items
    group by service_item_id

),

final as (

    select
        service_item_id,
        match_key,
        task_name,
        task_name_raw,
        task_code,
        catalog_code,
        region_code,
        agency_code,
        code_version,
        handle_item_code,
        task_code_pattern,
        task_type_code,
        task_type_label,
        md5(dept_name) as department_id,
        dept_name,
        dept_code,
        link_url,
        link_area_code,
        has_usable_link,
        region_code_status,
        agency_code_status,
        dept_code_status,
        link_area_code_status,
        main_task_name,
        source_id,
        source_format,
        source_record_id,
        record_position,
        run_id,
        landing_file,
        merged_record_count,
        evidence.evidence_source_ids,
        cast(len(evidence.evidence_source_ids) as integer) as evidence_source_count

    from survivors
    inner join evidence using (service_item_id)

)

select * from final
