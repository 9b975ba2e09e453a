-- One row per theme and dimension: how many of the theme's distinct services are primary,
-- secondary or unknown. A theme without services has zero counts and null shares.
with

themes as (

    select theme_id from {{ source('editorial_themes', 'theme_definitions') }}

),

dimensions as (

    select * from {{ ref('int_theme_dimensions') }}

),

service_dimensions as (

    select * from {{ ref('int_theme_service_dimensions') }}

),

counts as (

    select
        theme_id,
        dimension,
        count(*) as service_count,
        count(*) filter (where dimension_value = 'primary') as primary_count,
        count(*) filter (where dimension_value = 'secondary') as secondary_count,
        count(*) filter (where dimension_value = 'unknown') as unknown_count

    from service_dimensions
    group by theme_id, dimension

),

final as (

    select
        themes.theme_id,
        dimensions.dimension_position,
        dimensions.dimension,
        dimensions.dimension_label,
        coalesce(counts.service_count, 0) as service_count,
        coalesce(counts.primary_count, 0) as primary_count,
        coalesce(counts.secondary_count, 0) as secondary_count,
        coalesce(counts.unknown_count, 0) as unknown_count,
        counts.primary_count / nullif(counts.service_count, 0) as primary_share,
        counts.secondary_count / nullif(counts.service_count, 0) as secondary_share,
        counts.unknown_count / nullif(counts.service_count, 0) as unknown_share

    from themes
    cross join dimensions
    left join counts
        on counts.theme_id = themes.theme_id
        and counts.dimension = dimensions.dimension

)

select * from final
