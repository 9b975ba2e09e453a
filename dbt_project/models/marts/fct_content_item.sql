with

entries as (

    select * from {{ ref('int_content_entries_deduplicated') }}

),

survivors as (

    select * from entries
    where disposition = 'survivor'

),

final as (

    select
        content_id,
        content_kind,
        case content_kind
            when 'notice' then '通知公告'
            when 'policy_document' then '政策文件'
            when 'policy_interpretation' then '政策解读'
        end as content_kind_label,
        title,
        publisher,
        published_at,
        -- Feeds of Chinese governments date documents in China Standard Time.
        timezone('Asia/Shanghai', published_at)::date as published_on,
        link_url,
        category,
        source_id,
        source_entry_id as source_record_id,
        merged_record_count

    from survivors

)

select * from final
