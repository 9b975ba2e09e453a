with

source as (

    select * from {{ ref('service_item_codelists') }}

),

renamed as (

    select
        codelist as codelist_name,
        field as field_name,
        code,
        label,
        note

    from source

)

select * from renamed
