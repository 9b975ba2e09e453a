-- A returned row is a raw feed entry with no row in fct_content_record, or a
-- content item without a surviving record: content was lost or invented.
with

raw_entries as (

    select source_id || '#' || record_position as source_record_id
    from {{ source('raw', 'feed_entries') }}

),

records as (

    select * from {{ ref('fct_content_record') }}

),

items as (

    select * from {{ ref('fct_content_item') }}

)

select raw_entries.source_record_id, 'missing from fct_content_record' as problem
from raw_entries
left join records using (source_record_id)
where records.source_record_id is null

union all

select items.source_record_id, 'content item without a surviving record' as problem
from items
left join records
    on items.source_record_id = records.source_record_id
    and records.disposition = 'survivor'
where records.source_record_id is null
