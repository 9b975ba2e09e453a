-- Plain DuckDB SQL baseline of the dbt project's core service-item transforms.
--
-- Input: the loader's raw tables in a copy of the warehouse file (raw.json_api_records,
-- raw.csv_export_records, raw.xml_export_records) and three seed CSV files of dbt_project/seeds.
-- Output: the tables baseline.fct_service_item, baseline.dim_department and
-- baseline.mart_service_themes, each also written as Parquet into the output folder.
--
-- Set two variables before running the script. benchmarks/baselines.py (transform_with_sql) does
-- this and runs the script on a copy of the warehouse:
--     set variable seeds_dir = 'dbt_project/seeds';
--     set variable output_dir = '/tmp/baseline-out';
--
-- The steps follow these dbt models, with the same regular expressions, joins and window
-- functions: the three stg_*__service_items models, int_service_items_unioned,
-- int_service_items_normalized, int_region_codes_summarized, int_service_items_codes_parsed,
-- int_service_identity_resolved, int_service_items_deduplicated, fct_service_item,
-- dim_department and mart_service_themes. The dbt macros become DuckDB macros. Each step is
-- materialized as a table, as dbt materializes these models.
--
-- Left out, compared with the dbt project:
-- - The persistent identity map (int_service_identity). Every record resolves as on a first
--   run: the id is md5 of the smallest match key of its connected component, so ids equal the
--   dbt ids of a first run but are not kept across runs.
-- - Feeds and content items, editorial dimensions and themes, business systems, regions,
--   service history and status, evidence and source-record lineage marts.
-- - dbt tests, unit tests, the audit and the publication checks.

create schema if not exists baseline;

-- Macros: the dbt macros normalize_text, text_match_key, uscc_check_character,
-- org_code_check_character and org_identifier_status.

-- Spaces and line breaks become one space, invisible characters go, full-width ASCII becomes
-- half-width except the Chinese punctuation marks ！（），：；？, and the result is trimmed.
create or replace temp macro normalize_text(value) as trim(regexp_replace(
    translate(
        regexp_replace(
            regexp_replace(
                value,
                '[\t\n\x0B\f\r\x{0085}\x{2028}\x{2029}\p{Zs}]', ' ', 'g'
            ),
            '[\x{200B}-\x{200F}\x{2060}\x{FEFF}\x{00AD}\p{Cc}]', '', 'g'
        ),
        '＂＃＄％＆＇＊＋－．／０１２３４５６７８９＜＝＞＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～',
        '"#$%&''*+-./0123456789<=>@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~'
    ),
    ' +', ' ', 'g'
));

-- Comparison key of a name: normalized, without whitespace and punctuation, lower-cased.
create or replace temp macro text_match_key(value) as
    lower(regexp_replace(normalize_text(value), '[[:space:][:punct:]\p{P}]', '', 'g'));

-- GB 32100-2015 check character of an upper-case unified social credit code.
create or replace temp macro uscc_check_character(code) as substr(
    '0123456789ABCDEFGHJKLMNPQRTUWXY',
    (31 - (cast(list_sum([
        (strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, position, 1)) - 1) * weight
        for weight, position in [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    ]) as bigint) % 31)) % 31 + 1,
    1
);

-- GB 11714-1997 check character of an upper-case organisation code.
create or replace temp macro org_code_weighted_sum(code) as cast(list_sum([
    (strpos('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', substr(code, position, 1)) - 1) * weight
    for weight, position in [3, 7, 9, 10, 5, 8, 4, 2]
]) as bigint);

create or replace temp macro org_code_check_character(code) as
    case 11 - org_code_weighted_sum(code) % 11
        when 10 then 'X'
        when 11 then '0'
        else cast(11 - org_code_weighted_sum(code) % 11 as varchar)
    end;

-- Status of a published organisation identifier: missing, placeholder, valid_uscc,
-- lowercase_check_character, invalid_check_character, valid_org_code, truncated or malformed.
create or replace temp macro org_identifier_status(value) as
    case
        when trim(value) is null or trim(value) = '' then 'missing'

        when length(replace(trim(value), '-', '')) >= 4
            and replace(replace(trim(value), '-', ''), left(replace(trim(value), '-', ''), 1), '') = ''
            then 'placeholder'

        when regexp_matches(upper(trim(value)), '^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$')
            then case
                when uscc_check_character(upper(trim(value))) = substr(upper(trim(value)), 18, 1)
                    and org_code_check_character(substr(upper(trim(value)), 9, 8))
                        = substr(upper(trim(value)), 17, 1)
                    then case
                        when trim(value) = upper(trim(value)) then 'valid_uscc'
                        else 'lowercase_check_character'
                    end
                else 'invalid_check_character'
            end

        when regexp_matches(upper(trim(value)), '^[0-9A-Z]{8}-?[0-9X]$')
            then case
                when org_code_check_character(upper(trim(value))) = right(upper(trim(value)), 1)
                    then case
                        when trim(value) = upper(trim(value)) then 'valid_org_code'
                        else 'lowercase_check_character'
                    end
                else 'invalid_check_character'
            end

        when regexp_matches(upper(trim(value)), '^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{9}$')
            then 'truncated'
        when regexp_matches(upper(trim(value)), '^[0-9A-Z]{7,8}$') then 'truncated'
        else 'malformed'
    end;


-- Reference data from the dbt seeds, every column as text except the rule priority.

create or replace table baseline.codelists as
select codelist as codelist_name, field as field_name, code, label, note
from read_csv(getvariable('seeds_dir') || '/service_item_codelists.csv', header = true, all_varchar = true);

create or replace table baseline.theme_rules as
select rule_id, audience, theme_code, match_field, pattern, cast(priority as integer) as priority, rule_note
from read_csv(getvariable('seeds_dir') || '/theme_rules.csv', header = true, all_varchar = true);

-- One row per GB/T 2260 code: the in-use row, else the most recent one.
create or replace table baseline.region_codes as
with

regions as (

    select
        "代码" as region_code,
        "名称" as region_name,
        "状态" as code_status,
        "启用时间" as introduced_year,
        "变更/弃用时间" as changed_or_abolished_year
    from read_csv(getvariable('seeds_dir') || '/gbt2260_history.csv', header = true, all_varchar = true)

),

ranked as (

    select
        *,
        row_number() over (
            partition by region_code
            order by
                code_status = '在用' desc,
                introduced_year desc nulls last,
                changed_or_abolished_year desc nulls last
        ) as row_rank,
        bool_or(code_status = '在用') over (partition by region_code) as is_in_use
    from regions

)

select
    region_code,
    region_name,
    is_in_use,
    case when is_in_use then 'valid' else 'retired' end as region_code_status
from ranked
where row_rank = 1;


-- Union of the raw sources, with the published field names mapped to one set of columns.

create or replace table baseline.service_items_unioned as
select
    source_id,
    'json_api' as source_format,
    run_id,
    record_position,
    source_id || '#' || record_position as source_record_id,
    record ->> 'task_name' as task_name_raw,
    record ->> 'task_code' as task_code_raw,
    record ->> 'catalog_code' as catalog_code_raw,
    record ->> 'task_type' as task_type_raw,
    cast(null as varchar) as task_type_label_raw,
    record ->> 'dept_name' as dept_name_raw,
    record ->> 'dept_code' as dept_code_raw,
    record ->> 'link_addr' as link_url_raw,
    record ->> 'main_task_name' as main_task_name_raw
from raw.json_api_records

union all by name

select
    source_id,
    'csv_export' as source_format,
    run_id,
    record_position,
    source_id || '#' || record_position as source_record_id,
    nullif(record ->> '事项名称', '') as task_name_raw,
    nullif(record ->> '实施编码', '') as task_code_raw,
    nullif(record ->> '基本编码', '') as catalog_code_raw,
    -- The CSV export publishes the 事项类型 label, never the code.
    cast(null as varchar) as task_type_raw,
    nullif(record ->> '事项类型', '') as task_type_label_raw,
    nullif(record ->> '实施主体', '') as dept_name_raw,
    nullif(record ->> '实施主体编码', '') as dept_code_raw,
    nullif(record ->> '在线办理地址', '') as link_url_raw,
    nullif(record ->> '所属主项', '') as main_task_name_raw
from raw.csv_export_records

union all by name

select
    source_id,
    'xml_export' as source_format,
    run_id,
    record_position,
    source_id || '#' || record_position as source_record_id,
    record ->> 'task_name' as task_name_raw,
    record ->> 'task_code' as task_code_raw,
    record ->> 'catalog_code' as catalog_code_raw,
    record ->> 'task_type' as task_type_raw,
    cast(null as varchar) as task_type_label_raw,
    record ->> 'dept_name' as dept_name_raw,
    record ->> 'dept_code' as dept_code_raw,
    record ->> 'link_addr' as link_url_raw,
    record ->> 'main_task_name' as main_task_name_raw
from raw.xml_export_records;


-- Normalized text, link area code and 事项类型 code and label.

create or replace table baseline.service_items_normalized as
with

task_types as (

    select code as task_type_code, label as task_type_label
    from baseline.codelists
    where field_name = 'task_type'

),

normalized as (

    select
        *,
        nullif(normalize_text(task_name_raw), '') as task_name,
        nullif(text_match_key(task_name_raw), '') as task_name_key,
        nullif(normalize_text(dept_name_raw), '') as dept_name,
        nullif(normalize_text(dept_code_raw), '') as dept_code,
        nullif(normalize_text(main_task_name_raw), '') as main_task_name,
        nullif(normalize_text(link_url_raw), '') as link_url,
        nullif(normalize_text(task_type_raw), '') as task_type_published,
        nullif(normalize_text(task_type_label_raw), '') as task_type_label_published
    from baseline.service_items_unioned

),

with_links as (

    select
        *,
        nullif(regexp_extract(link_url, '[?&]areaCode=([^&#]*)', 1), '') as link_area_code,
        coalesce(
            regexp_matches(link_url, '^https?://[^/?#\s:@]+(:[0-9]+)?([/?#]\S*)?$', 'i'),
            false
        ) as has_usable_link,
        -- JSON sources publish the code unpadded ("1"), and the code list pads it to 2 digits.
        case
            when regexp_matches(task_type_published, '^[0-9]$') then '0' || task_type_published
            when regexp_matches(task_type_published, '^[0-9]{2}$') then task_type_published
        end as task_type_code_published
    from normalized

)

select
    with_links.*,
    coalesce(with_links.task_type_code_published, types_by_label.task_type_code) as task_type_code,
    coalesce(types_by_code.task_type_label, types_by_label.task_type_label) as task_type_label
from with_links
left join task_types as types_by_code
    on with_links.task_type_code_published = types_by_code.task_type_code
left join task_types as types_by_label
    on with_links.task_type_code_published is null
    and with_links.task_type_label_published = types_by_label.task_type_label;


-- 实施编码 segments:
--   <catalog code>-<region code, 12 digits>-<3 digits>-<agency code>-<version>-<handle item, 2 digits>
-- and the shape without the region segment, <letter>-<6 digits>-<3 digits>-<agency code>.

create or replace table baseline.service_items_codes_parsed as
with

classified as (

    select
        *,
        upper(task_code_published) as task_code,
        case
            when task_code_published is null then 'empty'
            when regexp_matches(upper(task_code_published), '^(.+?)-([0-9]{12})-([0-9]{3})-(.+)-([0-9]+)-([0-9]{2})$')
                then 'standard'
            when regexp_matches(upper(task_code_published), '^([A-Z]-[0-9]{6}-[0-9]{3})-(.+)$')
                then 'missing_segments'
            else 'unparseable'
        end as task_code_pattern
    from (
        select *, nullif(normalize_text(task_code_raw), '') as task_code_published
        from baseline.service_items_normalized
    )

),

segments_extracted as (

    select
        *,
        regexp_extract(
            task_code_published,
            '^(.+?)-([0-9]{12})-([0-9]{3})-(.+)-([0-9]+)-([0-9]{2})$',
            ['catalog_code', 'region_code', 'reserved_segment', 'agency_code', 'code_version', 'handle_item_code'],
            'i'
        ) as standard_segments,
        regexp_extract(
            task_code_published,
            '^([A-Z]-[0-9]{6}-[0-9]{3})-(.+)$',
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
        case when task_code_pattern = 'standard' then standard_segments.region_code end as region_code,
        case when task_code_pattern = 'standard' then standard_segments.code_version end as code_version,
        case when task_code_pattern = 'standard' then standard_segments.handle_item_code end as handle_item_code
    from segments_extracted

)

select
    segmented.* exclude (standard_segments, missing_segments_parts),
    coalesce(segmented.catalog_code_parsed, upper(nullif(normalize_text(segmented.catalog_code_raw), '')))
        as catalog_code,
    upper(segmented.agency_code_published) as agency_code,
    org_identifier_status(segmented.agency_code_published) as agency_code_status,
    org_identifier_status(segmented.dept_code) as dept_code_status,
    case
        when segmented.region_code is null then 'missing'
        else coalesce(task_code_regions.region_code_status, 'unknown')
    end as region_code_status,
    case
        when segmented.link_area_code is null then 'missing'
        else coalesce(link_regions.region_code_status, 'unknown')
    end as link_area_code_status
from segmented
left join baseline.region_codes as task_code_regions
    on left(segmented.region_code, 6) = task_code_regions.region_code
left join baseline.region_codes as link_regions
    on case when regexp_matches(segmented.link_area_code, '^[0-9]{6}') then left(segmented.link_area_code, 6) end
        = link_regions.region_code;


-- Service identity: records that share a standard 实施编码 or a match key (name, region, agency)
-- form one connected component, and the component's id is md5 of its smallest match key.

create or replace table baseline.service_identity as
with recursive

keyed as (

    select
        source_record_id,
        case
            when task_name_key is null then 'unnamed#' || source_record_id
            else task_name_key
                || '|' || coalesce(region_code, link_area_code, '')
                || '|' || coalesce(upper(agency_code), upper(dept_code), '')
        end as match_key,
        case
            when task_code_pattern = 'standard' and task_name_key is not null then 'task_code:' || task_code
        end as task_code_identifier
    from baseline.service_items_codes_parsed

),

record_identifiers as (

    select source_record_id, 'match_key:' || match_key as identifier
    from keyed

    union all

    select source_record_id, task_code_identifier
    from keyed
    where task_code_identifier is not null

),

identifier_edges as (

    select distinct
        left_side.source_record_id as from_record_id,
        right_side.source_record_id as to_record_id
    from record_identifiers as left_side
    inner join record_identifiers as right_side using (identifier)

),

-- UNION (not UNION ALL) drops pairs already found, so the recursion ends once a component has
-- no new record to reach.
reachable (record_id, reached_record_id) as (

    select source_record_id, source_record_id
    from keyed

    union

    select reachable.record_id, identifier_edges.to_record_id
    from reachable
    inner join identifier_edges on reachable.reached_record_id = identifier_edges.from_record_id

),

components as (

    select record_id as source_record_id, min(reached_record_id) as component_id
    from reachable
    group by record_id

),

component_ids as (

    select components.component_id, md5(min(keyed.match_key)) as service_item_id
    from components
    inner join keyed using (source_record_id)
    group by components.component_id

)

select keyed.source_record_id, keyed.match_key, component_ids.service_item_id
from keyed
inner join components using (source_record_id)
inner join component_ids using (component_id);


-- One survivor per service: the record with the fewest code defects, then a current 14-character
-- Sichuan catalog code, then the lowest source id and position.

create or replace table baseline.service_items_deduplicated as
with

keyed as (

    select
        items.*,
        identities.service_item_id,
        identities.match_key,
        (items.task_code_pattern != 'standard')::integer
            + (items.region_code_status != 'valid')::integer
            + (items.agency_code_status not in ('valid_uscc', 'valid_org_code'))::integer
            + (items.dept_code_status not in ('valid_uscc', 'valid_org_code'))::integer
            as code_defect_count,
        coalesce(regexp_matches(items.catalog_code, '^51[0-9][0-9A-Z][0-9]{10}$'), false) as has_current_catalog_code
    from baseline.service_items_codes_parsed as items
    inner join baseline.service_identity as identities using (source_record_id)

)

select
    *,
    case
        when row_number() over (
            partition by service_item_id
            order by code_defect_count, has_current_catalog_code desc, source_id, record_position
        ) = 1 then 'survivor'
        else 'merged'
    end as disposition,
    cast(count(*) over (partition by service_item_id) as integer) as merged_record_count
from keyed;


-- Marts.

create or replace table baseline.fct_service_item as
with

evidence as (

    select service_item_id, list(distinct source_id order by source_id) as evidence_source_ids
    from baseline.service_items_deduplicated
    group by service_item_id

)

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
    merged_record_count,
    evidence.evidence_source_ids,
    cast(len(evidence.evidence_source_ids) as integer) as evidence_source_count
from baseline.service_items_deduplicated
inner join evidence using (service_item_id)
where disposition = 'survivor';

-- One row per published department name, with its best code: a valid one, else the most common.
create or replace table baseline.dim_department as
with

named_records as (

    select * from baseline.service_items_deduplicated
    where dept_name is not null

),

ranked_codes as (

    select
        *,
        row_number() over (
            partition by dept_name
            order by dept_code_status in ('valid_uscc', 'valid_org_code') desc, record_count desc, dept_code
        ) as code_rank
    from (
        select dept_name, dept_code, dept_code_status, count(*) as record_count
        from named_records
        where dept_code is not null
        group by all
    )

),

departments as (

    select
        dept_name,
        list(distinct dept_code order by dept_code) filter (where dept_code is not null) as dept_codes,
        list(distinct source_id order by source_id) as source_ids
    from named_records
    group by dept_name

),

item_counts as (

    select department_id, count(*) as service_item_count
    from baseline.fct_service_item
    group by department_id

)

select
    md5(departments.dept_name) as department_id,
    departments.dept_name,
    ranked_codes.dept_code,
    ranked_codes.dept_code_status,
    coalesce(departments.dept_codes, []) as dept_codes,
    departments.source_ids,
    coalesce(item_counts.service_item_count, 0) as service_item_count
from departments
left join ranked_codes
    on departments.dept_name = ranked_codes.dept_name
    and ranked_codes.code_rank = 1
left join item_counts
    on md5(departments.dept_name) = item_counts.department_id;

-- Every regular expression rule of theme_rules.csv is tried on every distinct 事项名称 and
-- 实施主体, and the matches join back to the services. Per audience the
-- lowest priority value wins, then the lowest rule_id. A service that no rule matches gets one
-- unassigned row.
create or replace table baseline.mart_service_themes as
with

theme_labels as (

    select
        case field_name
            when 'user_topic_type' then 'natural_person'
            when 'corp_topic_type' then 'legal_person'
        end as audience,
        code as theme_code,
        label as theme_label
    from baseline.codelists
    where field_name in ('user_topic_type', 'corp_topic_type')

),

field_values as (

    select distinct 'task_name' as match_field, task_name as field_value
    from baseline.fct_service_item where task_name is not null
    union all
    select distinct 'dept_name' as match_field, dept_name as field_value
    from baseline.fct_service_item where dept_name is not null

),

value_matches as (

    select
        rules.audience, rules.theme_code, rules.rule_id, rules.match_field, rules.pattern,
        rules.rule_note, rules.priority,
        field_values.field_value as matched_field_value,
        regexp_extract(field_values.field_value, rules.pattern) as matched_text
    from baseline.theme_rules as rules
    inner join field_values on rules.match_field = field_values.match_field
    where regexp_matches(field_values.field_value, rules.pattern)

),

rule_matches as (

    select items.service_item_id, value_matches.*
    from value_matches
    inner join baseline.fct_service_item as items on items.task_name = value_matches.matched_field_value
    where value_matches.match_field = 'task_name'
    union all
    select items.service_item_id, value_matches.*
    from value_matches
    inner join baseline.fct_service_item as items on items.dept_name = value_matches.matched_field_value
    where value_matches.match_field = 'dept_name'

),

assignments as (

    select *
    from rule_matches
    qualify row_number() over (partition by service_item_id, audience order by priority, rule_id) = 1

),

combined as (

    select
        assignments.service_item_id,
        assignments.audience,
        assignments.theme_code,
        theme_labels.theme_label,
        assignments.rule_id,
        assignments.match_field,
        assignments.pattern,
        assignments.rule_note,
        assignments.matched_text,
        false as is_unassigned
    from assignments
    left join theme_labels
        on assignments.audience = theme_labels.audience
        and assignments.theme_code = theme_labels.theme_code

    union all

    select
        items.service_item_id,
        cast(null as varchar),
        cast(null as varchar),
        cast(null as varchar),
        'unassigned',
        cast(null as varchar),
        cast(null as varchar),
        cast(null as varchar),
        cast(null as varchar),
        true
    from baseline.fct_service_item as items
    where not exists (
        select 1 from assignments where assignments.service_item_id = items.service_item_id
    )

)

select md5(service_item_id || '|' || coalesce(audience, 'unassigned')) as theme_assignment_id, *
from combined;


-- Parquet output, as Huiju publishes its marts.

copy (select * from baseline.fct_service_item order by service_item_id)
    to (getvariable('output_dir') || '/fct_service_item.parquet') (format parquet);
copy (select * from baseline.dim_department order by department_id)
    to (getvariable('output_dir') || '/dim_department.parquet') (format parquet);
copy (select * from baseline.mart_service_themes order by theme_assignment_id)
    to (getvariable('output_dir') || '/mart_service_themes.parquet') (format parquet);
