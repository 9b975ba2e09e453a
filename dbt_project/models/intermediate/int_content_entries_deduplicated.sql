with

entries as (

    select * from {{ ref('int_content_entries_normalized') }}

),

checked as (

    select
        *,
        -- The first failing check, in this order, is the quarantine reason.
        case
            when title is null then 'content_title_missing'
            when link_url is null then 'content_link_missing'
            when not has_absolute_link then 'content_link_not_absolute'
            when published_at_text is null or trim(published_at_text) = '' then 'content_date_missing'
            when published_at is null then 'content_date_invalid'
        end as quarantine_rule_id

    from entries

),

ranked as (

    select
        *,
        case
            when quarantine_rule_id is null then row_number() over (
                partition by content_id, quarantine_rule_id is null
                order by source_id, record_position
            )
        end as link_rank,
        count(*) filter (where quarantine_rule_id is null) over (partition by content_id) as valid_entry_count

    from checked

),

final as (

    select
        source_entry_id,
        source_id,
        source_format,
        run_id,
        landing_file,
        record_position,
        content_kind,
        case when quarantine_rule_id is null then content_id end as content_id,
        title,
        link_url,
        published_at_text,
        published_at,
        publisher,
        category,
        case
            when quarantine_rule_id is not null then 'quarantined'
            when link_rank = 1 then 'survivor'
            else 'merged'
        end as disposition,
        case when quarantine_rule_id is null and link_rank = 1 then valid_entry_count - 1 else 0 end
            as merged_record_count,
        quarantine_rule_id,
        case quarantine_rule_id
            when 'content_title_missing' then '缺少标题'
            when 'content_link_missing' then '缺少链接'
            when 'content_link_not_absolute' then '链接不是以 http:// 或 https:// 开头的完整网址'
            when 'content_date_missing' then '缺少发布日期'
            when 'content_date_invalid' then '发布日期无法解析'
        end as quarantine_reason_zh,
        case quarantine_rule_id
            when 'content_title_missing' then 'the entry has no title'
            when 'content_link_missing' then 'the entry has no link'
            when 'content_link_not_absolute' then 'the link is not an absolute http(s) URL'
            when 'content_date_missing' then 'the entry has no publication date'
            when 'content_date_invalid' then 'the publication date cannot be parsed'
        end as quarantine_reason_en,
        record

    from ranked

)

select * from final
