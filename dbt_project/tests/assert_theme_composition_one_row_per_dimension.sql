-- A failing row is a theme that does not have exactly one composition row per dimension.
select theme_id, count(*) as row_count, count(distinct dimension) as dimension_count
from {{ ref('mart_theme_composition') }}
group by theme_id
having count(*) != 8 or count(distinct dimension) != 8
