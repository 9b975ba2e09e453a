-- Each item appears once per theme, form and step in the four forms of theme content.
select theme_id, content_form, item_id, step_id, count(*) as row_count
from {{ ref('mart_theme_content') }}
group by all
having count(*) > 1
