{%- set valid_identifier_statuses = "('valid_uscc', 'valid_org_code')" -%}

with

service_items as (

    select * from {{ ref('int_service_items_codes_parsed') }}

),

identities as (

    select * from {{ ref('int_service_identity_resolved') }}

),

keyed as (

    -- service_item_id comes from the identity map (int_service_identity_resolved), so records
    -- merge when they share a service id: the same standard 实施编码, or the same match key.
    select
        service_items.*,
        identities.service_item_id,
        identities.match_key,
        identities.identity_resolved_by,
        identities.has_identity_conflict,
        (service_items.task_code_pattern != 'standard')::integer
            + (service_items.region_code_status != 'valid')::integer
            + (service_items.agency_code_status not in {{ valid_identifier_statuses }})::integer
            + (service_items.dept_code_status not in {{ valid_identifier_statuses }})::integer
            as code_defect_count,
        -- Sichuan's current catalog codes have 14 characters (511A0188100004,
        -- 51201300200004) and older ones 12 (511A17033003, 512014025002).
        -- Between records with equal defect counts, the current code wins.
        coalesce(regexp_matches(service_items.catalog_code, '^51[0-9][0-9A-Z][0-9]{10}$'), false)
            as has_current_catalog_code

    from service_items
    inner join identities using (source_record_id)

),

ranked as (

    select
        *,
        row_number() over (
            partition by service_item_id
            order by
                code_defect_count,
                has_current_catalog_code desc,
                source_id,
                record_position
        ) as survivor_rank,
        count(*) over (partition by service_item_id) as merged_record_count

    from keyed

),

final as (

    select
        service_item_id,
        match_key,
        identity_resolved_by,
        has_identity_conflict,
        case when survivor_rank = 1 then 'survivor' else 'merged' end as disposition,
        cast(merged_record_count as integer) as merged_record_count,
        code_defect_count,
        has_current_catalog_code,
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
        task_code,
        task_code_pattern,
        catalog_code,
        region_code,
        reserved_segment,
        agency_code_published,
        agency_code,
        code_version,
        handle_item_code,
        task_type_code,
        task_type_label,
        dept_name,
        dept_code,
        link_url,
        link_area_code,
        has_usable_link,
        main_task_name,
        region_code_status,
        agency_code_status,
        dept_code_status,
        link_area_code_status,
        record

    from ranked

)

select * from final
