-- A row is a service item with no row in mart_service_themes, neither an
-- assignment nor an unassigned row, so the theme mart dropped it.
select service_items.service_item_id

from {{ ref('fct_service_item') }} as service_items
left join {{ ref('mart_service_themes') }} as themes
    on service_items.service_item_id = themes.service_item_id
where themes.service_item_id is null
