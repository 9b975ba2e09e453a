-- The eight classification dimensions of the principles for choosing services, in the order of
-- the principles, with the Chinese labels of dimension_rules.yaml, so that the composition
-- report and fct_service_item_dimension name each dimension alike.
with

positions as (

    select * from (
        values
            (1, 'resource_kind'),
            (2, 'audience_breadth'),
            (3, 'region_scope'),
            (4, 'link_mode'),
            (5, 'standardization'),
            (6, 'duration'),
            (7, 'responsible_body'),
            (8, 'maturity')
    ) as dimensions (dimension_position, dimension)

),

definitions as (

    select dimension, dimension_label from {{ source('editorial_dimensions', 'dimension_definitions') }}

),

final as (

    select
        positions.dimension_position,
        positions.dimension,
        definitions.dimension_label

    from positions
    inner join definitions using (dimension)

)

select * from final
