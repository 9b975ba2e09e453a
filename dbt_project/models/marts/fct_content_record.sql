with

entries as (

    select * from {{ ref('int_content_entries_deduplicated') }}

),

final as (

    select
        source_entry_id as source_record_id,
        source_id,
        source_format,
        run_id,
        landing_file,
        record_position,
        content_kind,
        content_id,
        disposition,
        case when disposition = 'merged' then content_id end as merged_into_content_id,
        quarantine_rule_id,
        quarantine_reason_zh,
        quarantine_reason_en,
        record

    from entries

)

select * from final
