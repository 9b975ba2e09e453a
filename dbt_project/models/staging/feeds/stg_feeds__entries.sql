with

source as (

    select * from {{ source('raw', 'feed_entries') }}

),

renamed as (

    select
        source_id,
        source_id || '#' || record_position as source_entry_id,
        run_id,
        landing_file,
        record_position,
        content_kind,
        nullif(trim(record ->> 'entry_id'), '') as entry_id,
        nullif(trim(record ->> 'title'), '') as title,
        nullif(trim(record ->> 'link'), '') as link_url,
        try_cast(record ->> 'published_at' as timestamptz) as published_at,
        try_cast(record ->> 'updated_at' as timestamptz) as updated_at,
        nullif(trim(record ->> 'publisher'), '') as publisher,
        nullif(trim(record ->> 'category'), '') as category,
        nullif(trim(record ->> 'summary'), '') as summary,
        record

    from source

)

select * from renamed
