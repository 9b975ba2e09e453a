-- A returned row is a theme and content item, or a service item and business
-- system, listed twice in a bridge: each pair must carry exactly one rule.
select 'bridge_theme_content' as bridge, theme_id as left_id, content_id as right_id, count(*) as row_count
from {{ ref('bridge_theme_content') }}
group by all
having count(*) > 1

union all

select 'bridge_service_business_system', service_item_id, system_id, count(*)
from {{ ref('bridge_service_business_system') }}
group by all
having count(*) > 1
