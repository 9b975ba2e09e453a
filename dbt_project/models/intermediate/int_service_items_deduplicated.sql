{%- set valid_identifier_statuses = "('valid_uscc', 'valid_org_code')" -%}

with

service_items as (

    select * from {{ ref('int_service_items_codes_parsed') }}

),

keyed as (

    select
        *,
        case
            -- A record without a name has nothing to match on, so it gets a
            -- key of its own and never merges. The key contains no '|', so it
            -- cannot equal a key built from a name.
            when task_name_key is null then 'unnamed#' || source_record_id
            else task_name_key
                || '|' || coalesce(region_code, link_area_code, '')
                || '|' || coalesce(upper(agency_code), upper(dept_code), '')
        end as match_key,
        (task_code_pattern != 'standard')::integer
            + (region_code_status != 'valid')::integer
            + (agency_code_status not in {{ valid_identifier_statuses }})::integer
            + (dept_code_status not in {{ valid_identifier_statuses }})::integer
            as code_defect_count,
        -- Sichuan's current catalog codes have 14 characters (511A0188100004,
        -- 51201300200004) and older ones 12 (511A17033003, 512014025002).
        -- Between records with equal defect counts, the current code wins.
        coalesce(regexp_matches(catalog_code, '^51[0-9][0-9A-Z][0-9]{10}$'), false)
            as has_current_catalog_code

    from service_items

),

ranked as (

    select
        *,
        row_number() over (
            partition by match_key
            order by
                code_defect_count,
                has_current_catalog_code desc,
                source_id,
                record_position
        ) as survivor_rank,
        count(*) over (partition by match_key) as merged_record_count

    from keyed

),

final as (

    select
        md5(match_key) as service_item_id,
        match_key,
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
