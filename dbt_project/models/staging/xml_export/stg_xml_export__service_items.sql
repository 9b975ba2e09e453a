with

source as (

    select * from {{ source('raw', 'xml_export_records') }}

),

renamed as (

    select
{{ national_exchange_fields('xml_export') }}

    from source

)

select * from renamed
