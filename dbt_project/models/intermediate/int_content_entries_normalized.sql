with

entries as (

    select * from {{ ref('stg_feeds__entries') }}

),

sources as (

    select source_id, source_format from {{ source('raw', 'sources') }}

),

normalized as (

    select
        entries.source_entry_id,
        entries.source_id,
        sources.source_format,
        entries.run_id,
        entries.landing_file,
        entries.record_position,
        entries.content_kind,
        nullif({{ normalize_text('entries.title') }}, '') as title,
        nullif({{ normalize_text('entries.link_url') }}, '') as link_url,
        entries.record ->> 'published_at' as published_at_text,
        entries.published_at,
        nullif({{ normalize_text('entries.publisher') }}, '') as publisher,
        nullif({{ normalize_text('entries.category') }}, '') as category,
        entries.record

    from entries
    left join sources using (source_id)

),

final as (

    select
        *,
        -- The link identifies a document across feeds and runs, so it is the content key.
        case when link_url is not null then md5(link_url) end as content_id,
        regexp_matches(link_url, '^https?://[^/\s]+') as has_absolute_link

    from normalized

)

select * from final
