-- One row per service item and dimension for the services of theme steps. A dimension without
-- a row in fct_service_item_dimension counts as unknown.
with

theme_services as (

    select distinct theme_id, service_item_id from {{ ref('int_theme_step_services') }}

),

dimension_values as (

    select * from {{ ref('fct_service_item_dimension') }}

),

dimensions as (

    select * from {{ ref('int_theme_dimensions') }}

),

final as (

    select
        theme_services.theme_id,
        theme_services.service_item_id,
        dimensions.dimension_position,
        dimensions.dimension,
        dimensions.dimension_label,
        coalesce(dimension_values.value, 'unknown') as dimension_value

    from theme_services
    cross join dimensions
    left join dimension_values
        on dimension_values.service_item_id = theme_services.service_item_id
        and dimension_values.dimension = dimensions.dimension

)

select * from final
