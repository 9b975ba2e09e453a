with

service_items as (

    select * from {{ ref('fct_service_item') }}

),

region_codes as (

    select * from {{ ref('int_region_codes_summarized') }}

),

seen_codes as (

    select region_code from service_items
    where region_code is not null

    union

    select link_area_code as region_code from service_items
    where regexp_matches(link_area_code, '^[0-9]{12}$')

),

final as (

    select
        seen_codes.region_code,
        left(seen_codes.region_code, 6) as county_code,
        region_codes.region_name as name,
        region_codes.province_name as province,
        region_codes.prefecture_name as city,
        coalesce(region_codes.region_code_status, 'unknown') as status,
        right(seen_codes.region_code, 6) = '000000' as is_county_level

    from seen_codes
    left join region_codes
        on left(seen_codes.region_code, 6) = region_codes.region_code

)

select * from final
