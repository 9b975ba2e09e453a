with

implementations as (

    select * from {{ ref('int_catalog_code_implementations') }}

),

final as (

    select
        catalog_code,
        count(distinct implementation_region_code) as region_count,
        count(distinct implementation_region_code) filter (where has_usable_link) as online_region_count,
        count(*) as implementation_count

    from implementations
    group by catalog_code

)

select * from final
