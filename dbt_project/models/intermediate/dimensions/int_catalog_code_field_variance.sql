{#
    Compares each implementation of a catalog code with the implementations of the same code
    in other regions, field by field. The baseline of a field is its most frequent value
    among the other regions' implementations that publish it. An implementation is standard
    when its value is one of the most frequent ones, differentiated otherwise, and unknown
    when it or every other region leaves the field empty.
#}

with

implementations as (

    select * from {{ ref('int_catalog_code_implementations') }}

),

coverage as (

    select * from {{ ref('int_catalog_code_coverage') }}

),

multi_region_implementations as (

    select implementations.*
    from implementations
    inner join coverage using (catalog_code)
    where coverage.region_count >= 2

),

field_values as (

    unpivot multi_region_implementations
    on accept_condition, materials, time_limit, is_fee
    into name field_name value field_value

),

all_fields as (

    -- unpivot drops nulls, so every implementation gets one row per field here and the
    -- published values are joined back.
    select
        implementations.service_item_id,
        implementations.task_code,
        implementations.catalog_code,
        implementations.implementation_region_code,
        fields.field_name,
        fields.field_position,
        field_values.field_value

    from multi_region_implementations as implementations
    cross join (
        values
            ('accept_condition', 1),
            ('materials', 2),
            ('time_limit', 3),
            ('is_fee', 4)
    ) as fields (field_name, field_position)
    left join field_values
        on implementations.service_item_id = field_values.service_item_id
        and fields.field_name = field_values.field_name

),

other_value_counts as (

    select
        mine.service_item_id,
        mine.field_name,
        other.field_value as other_value,
        count(*) as other_count

    from all_fields as mine
    inner join all_fields as other
        on mine.catalog_code = other.catalog_code
        and mine.field_name = other.field_name
        and mine.implementation_region_code != other.implementation_region_code
        and other.field_value is not null
    group by mine.service_item_id, mine.field_name, other.field_value

),

baselines as (

    select
        other_value_counts.service_item_id,
        other_value_counts.field_name,
        sum(other_count) over (partition by service_item_id, field_name) as compared_implementation_count,
        max(other_count) over (partition by service_item_id, field_name) as max_count,
        other_value,
        other_count

    from other_value_counts

),

chosen_baselines as (

    -- Among equally frequent values, the one equal to the implementation's own value is the
    -- baseline, then the lowest value, so the choice is deterministic.
    select
        baselines.service_item_id,
        baselines.field_name,
        baselines.compared_implementation_count,
        baselines.other_value as baseline_value,
        baselines.other_count as baseline_implementation_count

    from baselines
    inner join all_fields
        on baselines.service_item_id = all_fields.service_item_id
        and baselines.field_name = all_fields.field_name
    where baselines.other_count = baselines.max_count
    qualify row_number() over (
        partition by baselines.service_item_id, baselines.field_name
        order by (baselines.other_value = all_fields.field_value) desc nulls last, baselines.other_value
    ) = 1

),

final as (

    select
        all_fields.catalog_code,
        all_fields.service_item_id,
        all_fields.task_code,
        all_fields.implementation_region_code,
        all_fields.field_name,
        all_fields.field_position,
        all_fields.field_value,
        chosen_baselines.baseline_value,
        cast(coalesce(chosen_baselines.baseline_implementation_count, 0) as integer) as baseline_implementation_count,
        cast(coalesce(chosen_baselines.compared_implementation_count, 0) as integer) as compared_implementation_count,
        case
            when all_fields.field_value is null or chosen_baselines.baseline_value is null then 'unknown'
            when all_fields.field_value = chosen_baselines.baseline_value then 'standard'
            else 'differentiated'
        end as variance

    from all_fields
    left join chosen_baselines
        on all_fields.service_item_id = chosen_baselines.service_item_id
        and all_fields.field_name = chosen_baselines.field_name

)

select * from final
