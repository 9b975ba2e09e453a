{#
    Each published service item on each of the eight dimensions. The rules of a dimension
    are tried in their editorial order and the first whose conditions all hold decides; an
    item that no rule matches is unknown (rule_id no_rule_matched). A reviewed override
    replaces the rule's decision, and the rule's own value and rule id stay in
    rule_value and matched_rule_id.
#}

with

service_items as (

    select service_item_id, task_code from {{ ref('fct_service_item') }}

),

facts as (

    select * from {{ ref('int_service_item_dimension_facts') }}

),

definitions as (

    select * from {{ source('editorial_dimensions', 'dimension_definitions') }}

),

rules as (

    select * from {{ source('editorial_dimensions', 'dimension_rules') }}

),

conditions as (

    select * from {{ source('editorial_dimensions', 'dimension_rule_conditions') }}

),

fact_labels as (

    select * from {{ source('editorial_dimensions', 'dimension_facts') }}

),

overrides as (

    select * from {{ source('editorial_dimensions', 'dimension_overrides') }}

),

condition_results as (

    select
        service_items.service_item_id,
        conditions.rule_id,
        conditions.condition_index,
        case conditions.operator
            when 'in' then bool_or(list_contains(conditions.value_list, facts.fact_value))
            when 'matches' then bool_or(regexp_matches(facts.fact_value, conditions.pattern))
            when 'at_least' then bool_or(try_cast(facts.fact_value as bigint) >= conditions.threshold)
            when 'present' then (count(facts.fact_value) > 0) = conditions.expected
            when 'is' then bool_or(facts.fact_value = case when conditions.expected then 'true' else 'false' end)
        end as is_met

    from service_items
    cross join conditions
    left join facts
        on service_items.service_item_id = facts.service_item_id
        and conditions.fact = facts.fact
    group by
        service_items.service_item_id,
        conditions.rule_id,
        conditions.condition_index,
        conditions.operator,
        conditions.value_list,
        conditions.pattern,
        conditions.threshold,
        conditions.expected

),

rule_matches as (

    select
        condition_results.service_item_id,
        rules.dimension,
        rules.rule_id,
        rules.rule_position

    from condition_results
    inner join rules using (rule_id)
    group by condition_results.service_item_id, rules.dimension, rules.rule_id, rules.rule_position
    having bool_and(coalesce(condition_results.is_met, false))

),

first_matches as (

    select * from rule_matches
    qualify row_number() over (partition by service_item_id, dimension order by rule_position) = 1

),

decisions as (

    select
        service_items.service_item_id,
        service_items.task_code,
        definitions.dimension,
        coalesce(rules.value, 'unknown') as rule_value,
        coalesce(rules.rule_id, 'no_rule_matched') as matched_rule_id,
        rules.description as rule_description

    from service_items
    cross join definitions
    left join first_matches
        on service_items.service_item_id = first_matches.service_item_id
        and definitions.dimension = first_matches.dimension
    left join rules on first_matches.rule_id = rules.rule_id

),

evidence_facts as (

    -- A matched rule records the facts its conditions test, then its evidence facts. An
    -- unknown records every fact that the dimension's rules test, so the report shows
    -- which data was missing.
    select decisions.service_item_id, decisions.dimension, conditions.fact
    from decisions
    inner join conditions on decisions.matched_rule_id = conditions.rule_id
    union
    select decisions.service_item_id, decisions.dimension, unnest(rules.evidence_facts)
    from decisions
    inner join rules on decisions.matched_rule_id = rules.rule_id
    union
    select decisions.service_item_id, decisions.dimension, conditions.fact
    from decisions
    inner join rules on decisions.dimension = rules.dimension
    inner join conditions on rules.rule_id = conditions.rule_id
    where decisions.matched_rule_id = 'no_rule_matched'

),

evidence_values as (

    select
        evidence_facts.service_item_id,
        evidence_facts.dimension,
        fact_labels.fact_position,
        fact_labels.fact_label
            || '='
            || coalesce(string_agg(facts.fact_value, ',' order by facts.fact_value), '（无）') as fact_text

    from evidence_facts
    inner join fact_labels on evidence_facts.fact = fact_labels.fact
    left join facts
        on evidence_facts.service_item_id = facts.service_item_id
        and evidence_facts.fact = facts.fact
    group by evidence_facts.service_item_id, evidence_facts.dimension, fact_labels.fact_position, fact_labels.fact_label

),

rule_evidence as (

    select
        service_item_id,
        dimension,
        string_agg(fact_text, '；' order by fact_position) as rule_evidence

    from evidence_values
    group by service_item_id, dimension

),

matched_overrides as (

    select
        decisions.service_item_id,
        decisions.dimension,
        overrides.override_id,
        overrides.value,
        overrides.reason,
        overrides.reviewer,
        overrides.review_date

    from decisions
    inner join overrides
        on decisions.dimension = overrides.dimension
        and (
            decisions.service_item_id = overrides.service_item_id
            or decisions.task_code = overrides.task_code
        )
    -- One item can be named by both its task_code and its service_item_id. Then the override
    -- with the lowest id wins.
    qualify row_number() over (partition by decisions.service_item_id, decisions.dimension order by overrides.override_id) = 1

),

final as (

    select
        decisions.service_item_id,
        decisions.dimension,
        coalesce(matched_overrides.value, decisions.rule_value) as value,
        coalesce(matched_overrides.override_id, decisions.matched_rule_id) as rule_id,
        case
            when matched_overrides.override_id is not null
                then '理由：' || matched_overrides.reason
                    || '；审核人：' || matched_overrides.reviewer
                    || '；审核日期：' || matched_overrides.review_date
            else rule_evidence.rule_evidence
        end as evidence,
        case when matched_overrides.override_id is not null then 'override' else 'rule' end as decided_by,
        definitions.dimension_label,
        decisions.rule_value,
        decisions.matched_rule_id,
        decisions.rule_description,
        rule_evidence.rule_evidence

    from decisions
    inner join definitions using (dimension)
    left join rule_evidence
        on decisions.service_item_id = rule_evidence.service_item_id
        and decisions.dimension = rule_evidence.dimension
    left join matched_overrides
        on decisions.service_item_id = matched_overrides.service_item_id
        and decisions.dimension = matched_overrides.dimension

)

select * from final
