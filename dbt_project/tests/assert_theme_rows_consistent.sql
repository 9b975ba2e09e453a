-- A row is a theme mart row whose fields contradict each other: an
-- unassigned row with an audience or theme, an assignment without a theme
-- label, or an item that is both assigned and unassigned.
with

themes as (

    select * from {{ ref('mart_service_themes') }}

),

contradicting_rows as (

    select service_item_id, 'unassigned row with an audience or theme' as problem
    from themes
    where is_unassigned and (audience is not null or theme_code is not null or rule_id != 'unassigned')

    union all

    select service_item_id, 'assignment without theme_label' as problem
    from themes
    where not is_unassigned and (audience is null or theme_code is null or theme_label is null)

    union all

    select service_item_id, 'item both assigned and unassigned' as problem
    from themes
    group by service_item_id
    having bool_or(is_unassigned) and count(*) > 1

)

select * from contradicting_rows
