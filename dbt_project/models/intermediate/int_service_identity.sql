{#
    Identity map: one row per identifier ever seen (task_code:<实施编码> or match_key:<match key>)
    with the service_item_id it was first resolved to. Rows are only appended: an identifier
    keeps its first id for good, so a renamed service keeps its id through its 实施编码, and a
    conflict never moves an identifier to another service. full_refresh is off because a
    rebuilt map would hand out new ids to known services.
#}
{{ config(materialized='incremental', full_refresh=false) }}

with

resolved as (

    select * from {{ ref('int_service_identity_resolved') }}

),

record_identifiers as (

    select
        source_record_id,
        'match_key:' || match_key as identifier,
        'match_key' as identifier_kind,
        service_item_id,
        identity_resolved_by
    from resolved

    union all

    select source_record_id, task_code_identifier, 'task_code', service_item_id, identity_resolved_by
    from resolved
    where task_code_identifier is not null

),

first_claims as (

    -- Two records of one run can carry one new identifier but resolve to two ids (the conflict
    -- case). The identifier goes to the record resolved by the stronger identifier, then to the
    -- lowest source_record_id.
    select
        identifier,
        any_value(identifier_kind) as identifier_kind,
        arg_min(
            service_item_id,
            (
                case identity_resolved_by
                    when 'task_code' then 1 when 'match_key' then 2 when 'component' then 3 else 4
                end,
                source_record_id
            )
        ) as service_item_id,
        min(source_record_id) as first_source_record_id

    from record_identifiers
    group by identifier

),

final as (

    select
        identifier,
        identifier_kind,
        substr(identifier, length(identifier_kind) + 2) as identifier_value,
        service_item_id,
        first_source_record_id,
        {{ current_run_id() }} as first_run_id,
        current_timestamp as first_seen_at

    from first_claims
    {% if is_incremental() %}
    where identifier not in (select identifier from {{ this }})
    {% endif %}

)

select * from final
