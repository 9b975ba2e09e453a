-- A row is a source whose raw record count differs from its row count in
-- fct_source_record, so a model dropped or duplicated records.
with

raw_counts as (

    select source_id, count(*) as raw_record_count
    from {{ source('raw', 'json_api_records') }}
    group by source_id

    union all

    select source_id, count(*) as raw_record_count
    from {{ source('raw', 'csv_export_records') }}
    group by source_id

    union all

    select source_id, count(*) as raw_record_count
    from {{ source('raw', 'xml_export_records') }}
    group by source_id

),

raw_totals as (

    select source_id, sum(raw_record_count) as raw_record_count
    from raw_counts
    group by source_id

),

fct_counts as (

    select source_id, count(*) as fct_record_count
    from {{ ref('fct_source_record') }}
    group by source_id

),

final as (

    select
        coalesce(raw_totals.source_id, fct_counts.source_id) as source_id,
        coalesce(raw_totals.raw_record_count, 0) as raw_record_count,
        coalesce(fct_counts.fct_record_count, 0) as fct_record_count

    from raw_totals
    full outer join fct_counts
        on raw_totals.source_id = fct_counts.source_id
    where coalesce(raw_totals.raw_record_count, 0) != coalesce(fct_counts.fct_record_count, 0)

)

select * from final
