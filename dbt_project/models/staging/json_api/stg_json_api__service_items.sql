with

source as (

    select * from {{ source('raw', 'json_api_records') }}

),

renamed as (

    select
{{ national_exchange_fields('json_api') }}

    from source

)

select * from renamed
