with

source as (

    select * from {{ ref('gbt2260_history') }}

),

renamed as (

    select
        "代码" as region_code,
        "一级行政区" as province_name,
        "二级行政区" as prefecture_name,
        "名称" as region_name,
        "级别" as region_level,
        "状态" as code_status,
        "启用时间" as introduced_year,
        "变更/弃用时间" as changed_or_abolished_year,
        "新代码" as successor_codes

    from source

)

select * from renamed
