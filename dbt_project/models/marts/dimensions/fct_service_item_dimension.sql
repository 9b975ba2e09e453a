{#
    Each published service item on each of the eight dimensions. The rules of a dimension
    are tried in their editorial order and the first whose conditions all hold decides; an
    item that no rule matches is unknown (rule_id no_rule_matched). A reviewed override
    replaces the rule's decision, and the rule's own value and rule id stay in
    rule_value and matched_rule_id.
#}

{#-
    DuckDB compiles a regular expression once per query when the pattern is a constant, but
    once per row when the pattern comes from a column, at 0.1 to 0.3 ms per row for the
    editorial patterns on a 2-core machine. So the query writes each matches pattern of the
    conditions table into the SQL as a constant, and a pattern that is not among them falls
    back to the column. The patterns are read only at execution time, when the editorial
    tables exist.
-#}
{%- set match_patterns = [] -%}
{%- if execute -%}
    {%- set conditions_relation = load_relation(source('editorial_dimensions', 'dimension_rule_conditions')) -%}
    {%- if conditions_relation is not none -%}
        {%- set match_patterns = run_query(
            "select distinct pattern from " ~ conditions_relation
            ~ " where operator = 'matches' and pattern is not null order by pattern"
        ).columns[0].values() -%}
    {%- endif -%}
{%- endif %}

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

tested_values as (

    -- Each distinct value of a fact that a condition tests, so that each condition is
    -- evaluated once per value and not once per item. Items share most values.
    select distinct fact, fact_value
    from facts
    where fact in (select fact from conditions)

),

value_conditions as (

    -- The in, matches, at_least and is conditions that a fact value meets. Such a condition
    -- holds for an item when any of the item's values of the fact meets it.
    select
        tested_values.fact,
        tested_values.fact_value,
        conditions.rule_id,
        conditions.condition_index

    from tested_values
    inner join conditions on tested_values.fact = conditions.fact
    where case conditions.operator
        when 'in' then list_contains(conditions.value_list, tested_values.fact_value)
        when 'matches' then case conditions.pattern
            {%- for pattern in match_patterns %}
            when {{ sql_literal(pattern) }} then regexp_matches(tested_values.fact_value, {{ sql_literal(pattern) }})
            {%- endfor %}
            else regexp_matches(tested_values.fact_value, conditions.pattern)
        end
        when 'at_least' then try_cast(tested_values.fact_value as bigint) >= conditions.threshold
        when 'is' then tested_values.fact_value = case when conditions.expected then 'true' else 'false' end
    end

),

stated_facts as (

    select distinct service_item_id, fact
    from facts
    where fact in (select fact from conditions where operator = 'present')
        and fact_value is not null

),

met_conditions as (

    select facts.service_item_id, value_conditions.rule_id, value_conditions.condition_index
    from facts
    inner join value_conditions
        on facts.fact = value_conditions.fact
        and facts.fact_value = value_conditions.fact_value

    union all

    -- A present condition holds when expected is true and the item states the fact, or
    -- when expected is false and the item does not.
    select service_items.service_item_id, conditions.rule_id, conditions.condition_index
    from service_items
    cross join conditions
    left join stated_facts
        on service_items.service_item_id = stated_facts.service_item_id
        and conditions.fact = stated_facts.fact
    where conditions.operator = 'present'
        and conditions.expected = (stated_facts.fact is not null)

),

rule_sizes as (

    select rule_id, count(*) as condition_count
    from conditions
    group by rule_id

),

rule_matches as (

    -- A rule matches when all its conditions hold. The loader numbers the conditions of a
    -- rule 1, 2, …, so counting the distinct met ones is enough. An item with several values
    -- of a fact can meet one condition more than once.
    select
        met_conditions.service_item_id,
        rules.dimension,
        rules.rule_id,
        rules.rule_position

    from met_conditions
    inner join rules using (rule_id)
    inner join rule_sizes using (rule_id)
    group by met_conditions.service_item_id, rules.dimension, rules.rule_id, rules.rule_position, rule_sizes.condition_count
    having count(distinct met_conditions.condition_index) = rule_sizes.condition_count

),

first_matches as (

    -- rule_position is unique within a dimension, so arg_min picks a single first rule.
    select
        service_item_id,
        dimension,
        arg_min(rule_id, rule_position) as rule_id

    from rule_matches
    group by service_item_id, dimension

),

rule_decisions as (

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

    -- The facts that a decision records, by dimension and deciding rule. A matched rule
    -- records the facts its conditions test, then its evidence facts. An unknown records
    -- every fact that the dimension's rules test, so the report shows which data was missing.
    select rules.dimension, rules.rule_id as matched_rule_id, conditions.fact
    from rules
    inner join conditions using (rule_id)
    union
    select dimension, rule_id, unnest(evidence_facts)
    from rules
    union
    select rules.dimension, 'no_rule_matched', conditions.fact
    from rules
    inner join conditions using (rule_id)

),

evidence_fact_lists as (

    select
        evidence_facts.dimension,
        evidence_facts.matched_rule_id,
        list(
            struct_pack(fact := evidence_facts.fact, fact_label := fact_labels.fact_label)
            order by fact_labels.fact_position
        ) as evidence_facts

    from evidence_facts
    inner join fact_labels on evidence_facts.fact = fact_labels.fact
    where fact_labels.fact_label is not null
    group by evidence_facts.dimension, evidence_facts.matched_rule_id

),

item_fact_values as (

    -- Sorting the list after aggregating gives the text of string_agg(fact_value, ',' order
    -- by fact_value) and took a quarter of its time on 90k small groups (DuckDB 1.5).
    select
        service_item_id,
        fact,
        array_to_string(list_sort(list(fact_value) filter (where fact_value is not null)), ',') as fact_values

    from facts
    where fact in (select fact from evidence_facts)
    group by service_item_id, fact

),

item_fact_lists as (

    -- Each item's facts and their values as one list, with the fact ids alongside for
    -- list_position. A DuckDB map does the same lookups but took 1.7 times as long
    -- to build and read on 100k items (DuckDB 1.5).
    select
        service_item_id,
        fact_values,
        list_transform(fact_values, lambda fact_value: fact_value.fact) as facts

    from (
        select
            service_item_id,
            list(struct_pack(fact := fact, fact_values := fact_values)) as fact_values

        from item_fact_values
        group by service_item_id
    )

),

decisions as (

    -- rule_evidence is fact_label=values for each recorded fact in fact_position order,
    -- joined by '；'. The values are joined by ',' in sort order, or （无） when the item
    -- states none.
    select
        rule_decisions.*,
        array_to_string(
            list_transform(
                evidence_fact_lists.evidence_facts,
                lambda evidence_fact: evidence_fact.fact_label
                    || '='
                    || coalesce(
                        item_fact_lists.fact_values[list_position(item_fact_lists.facts, evidence_fact.fact)].fact_values,
                        '（无）'
                    )
            ),
            '；'
        ) as rule_evidence

    from rule_decisions
    left join evidence_fact_lists
        on rule_decisions.dimension = evidence_fact_lists.dimension
        and rule_decisions.matched_rule_id = evidence_fact_lists.matched_rule_id
    left join item_fact_lists on rule_decisions.service_item_id = item_fact_lists.service_item_id

),

named_overrides as (

    -- An override names an item by task_code or by service_item_id. Two equi-joins keep
    -- these hash joins, whereas one join on "id or task_code" compares every item with
    -- every override.
    select
        service_items.service_item_id,
        overrides.dimension,
        overrides.override_id,
        overrides.value,
        overrides.reason,
        overrides.reviewer,
        overrides.review_date

    from service_items
    inner join overrides on service_items.service_item_id = overrides.service_item_id

    union all

    select
        service_items.service_item_id,
        overrides.dimension,
        overrides.override_id,
        overrides.value,
        overrides.reason,
        overrides.reviewer,
        overrides.review_date

    from service_items
    inner join overrides on service_items.task_code = overrides.task_code

),

matched_overrides as (

    select * from named_overrides
    -- One item can be named by both its task_code and its service_item_id. Then the override
    -- with the lowest id wins.
    qualify row_number() over (partition by service_item_id, dimension order by override_id) = 1

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
            else decisions.rule_evidence
        end as evidence,
        case when matched_overrides.override_id is not null then 'override' else 'rule' end as decided_by,
        definitions.dimension_label,
        decisions.rule_value,
        decisions.matched_rule_id,
        decisions.rule_description,
        decisions.rule_evidence

    from decisions
    inner join definitions using (dimension)
    left join matched_overrides
        on decisions.service_item_id = matched_overrides.service_item_id
        and decisions.dimension = matched_overrides.dimension

)

select * from final
