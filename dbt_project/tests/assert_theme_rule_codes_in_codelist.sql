-- A row is a theme rule whose theme_code is not in its audience's code list
-- (user_topic_type for natural_person, corp_topic_type for legal_person), so
-- its assignments would have no theme_label.
with

theme_rules as (

    select * from {{ ref('stg_reference__theme_rules') }}

),

codelists as (

    select * from {{ ref('stg_reference__service_item_codelists') }}

),

final as (

    select theme_rules.*
    from theme_rules
    left join codelists
        on codelists.field_name = case theme_rules.audience
            when 'natural_person' then 'user_topic_type'
            when 'legal_person' then 'corp_topic_type'
        end
        and theme_rules.theme_code = codelists.code
    where codelists.code is null

)

select * from final
