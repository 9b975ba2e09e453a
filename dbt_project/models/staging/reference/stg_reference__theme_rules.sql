with

source as (

    select * from {{ ref('theme_rules') }}

),

renamed as (

    select
        rule_id,
        audience,
        theme_code,
        match_field,
        pattern,
        priority,
        rule_note

    from source

)

select * from renamed
