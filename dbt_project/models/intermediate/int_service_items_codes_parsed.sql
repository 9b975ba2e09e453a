{#
    Standard 实施编码 shape:
        <catalog code>-<region code, 12 digits>-<3 digits>-<agency code>-<version>-<handle item, 2 digits>
    The catalog code (G-000007-001, 1J-5100-00027) and the agency code
    (00877868-5) may contain hyphens. The lazy catalog group makes the catalog
    code end before the first 12-digit segment that the rest of the shape can
    follow, and the greedy agency group leaves only the last two segments to
    version and handle item.
    Codes without the region segment (E-000004-001-11511301008778386B) have a
    <letter>-<6 digits>-<3 digits> catalog code followed by the agency code.
#}
{%- set standard_pattern = '^(.+?)-([0-9]{12})-([0-9]{3})-(.+)-([0-9]+)-([0-9]{2})$' -%}
{%- set missing_segments_pattern = '^([A-Z]-[0-9]{6}-[0-9]{3})-(.+)$' -%}

with

service_items as (

    select * from {{ ref('int_service_items_normalized') }}

),

region_codes as (

    select * from {{ ref('int_region_codes_summarized') }}

),

cleaned as (

    select
        *,
        nullif({{ normalize_text('task_code_raw') }}, '') as task_code_published

    from service_items

),

classified as (

    select
        *,
        upper(task_code_published) as task_code,
        case
            when task_code_published is null then 'empty'
            when regexp_matches(upper(task_code_published), '{{ standard_pattern }}') then 'standard'
            when regexp_matches(upper(task_code_published), '{{ missing_segments_pattern }}') then 'missing_segments'
            else 'unparseable'
        end as task_code_pattern

    from cleaned

),

segments_extracted as (

    -- Segments are read from the code before upper-casing, with
    -- case-insensitive patterns, so the agency segment keeps its published
    -- case for classification. Every other segment is upper-cased below.
    select
        *,
        regexp_extract(
            task_code_published,
            '{{ standard_pattern }}',
            ['catalog_code', 'region_code', 'reserved_segment', 'agency_code', 'code_version', 'handle_item_code'],
            'i'
        ) as standard_segments,
        regexp_extract(
            task_code_published,
            '{{ missing_segments_pattern }}',
            ['catalog_code', 'agency_code'],
            'i'
        ) as missing_segments_parts

    from classified

),

segmented as (

    select
        *,
        case task_code_pattern
            when 'standard' then upper(standard_segments.catalog_code)
            when 'missing_segments' then upper(missing_segments_parts.catalog_code)
        end as catalog_code_parsed,
        case task_code_pattern
            when 'standard' then standard_segments.agency_code
            when 'missing_segments' then missing_segments_parts.agency_code
        end as agency_code_published,
        case
            when task_code_pattern = 'standard' then standard_segments.region_code
        end as region_code,
        case
            when task_code_pattern = 'standard' then standard_segments.reserved_segment
        end as reserved_segment,
        case
            when task_code_pattern = 'standard' then standard_segments.code_version
        end as code_version,
        case
            when task_code_pattern = 'standard' then standard_segments.handle_item_code
        end as handle_item_code

    from segments_extracted

),

with_statuses as (

    select
        segmented.*,
        coalesce(
            segmented.catalog_code_parsed,
            upper(nullif({{ normalize_text('segmented.catalog_code_raw') }}, ''))
        ) as catalog_code,
        upper(segmented.agency_code_published) as agency_code,
        {{ org_identifier_status('segmented.agency_code_published') }} as agency_code_status,
        {{ org_identifier_status('segmented.dept_code') }} as dept_code_status,
        case
            when segmented.region_code is null then 'missing'
            else coalesce(task_code_regions.region_code_status, 'unknown')
        end as region_code_status,
        case
            when segmented.link_area_code is null then 'missing'
            else coalesce(link_regions.region_code_status, 'unknown')
        end as link_area_code_status

    from segmented
    left join region_codes as task_code_regions
        on left(segmented.region_code, 6) = task_code_regions.region_code
    -- An equality join, so that DuckDB hashes it. A regex in the join condition made it a
    -- nested loop over every record and every region code.
    left join region_codes as link_regions
        on case when regexp_matches(segmented.link_area_code, '^[0-9]{6}') then left(segmented.link_area_code, 6) end
            = link_regions.region_code

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

    from with_statuses

)

select * from final
