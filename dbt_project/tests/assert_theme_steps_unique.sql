-- A failing row is a service listed twice in one theme step, or a step with two services at one rank.
select theme_id, step_id, service_item_id, count(*) as row_count
from {{ ref('mart_theme_steps') }}
group by theme_id, step_id, service_item_id
having count(*) > 1

union all

select theme_id, step_id, cast(service_rank as varchar), count(*)
from {{ ref('mart_theme_steps') }}
group by theme_id, step_id, service_rank
having count(*) > 1
