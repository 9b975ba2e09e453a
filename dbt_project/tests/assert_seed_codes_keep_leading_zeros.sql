-- A row is a code with leading zeros that the seeds should contain but do
-- not, which means a seed column was loaded as a number and lost its zeros.
with

expected_codes as (

    select * from (
        values
            ('task_type', '01'),
            ('task_type', '05'),
            ('user_topic_type', '005'),
            ('user_topic_type', '010'),
            ('corp_topic_type', '005'),
            ('corp_topic_type', '010')
    ) as expected (field_name, code)

),

codelists as (

    select * from {{ ref('stg_reference__service_item_codelists') }}

),

final as (

    select expected_codes.*
    from expected_codes
    left join codelists
        on expected_codes.field_name = codelists.field_name
        and expected_codes.code = codelists.code
    where codelists.code is null

)

select * from final
