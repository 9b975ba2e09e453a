{#
    Optional national-exchange fields of each published service item, read from the
    survivor's raw record. JSON and XML sources use the exchange column names
    (server_type, use_level, …); the CSV export uses Chinese headers (服务对象, 行使层级).
    The 广安区 catalog publishes none of them, so they are null there.
#}

with

service_items as (

    select * from {{ ref('int_service_items_deduplicated') }}
    where disposition = 'survivor'

),

extracted as (

    select
        service_item_id,
        task_code,
        catalog_code,
        region_code,
        link_area_code,
        has_usable_link,
        coalesce(record ->> 'server_type', record ->> 'serve_object', record ->> 'SERVER_TYPE', record ->> '服务对象')
            as serve_object_raw,
        coalesce(record ->> 'use_level', record ->> 'USE_LEVEL', record ->> '行使层级') as use_level_raw,
        coalesce(record ->> 'handle_area', record ->> 'HANDLE_AREA', record ->> '通办范围') as handle_area_raw,
        coalesce(record ->> 'accept_condition', record ->> 'ACCEPT_CONDITION', record ->> '受理条件')
            as accept_condition_raw,
        -- The exchange tables keep materials in a table of their own (up_task_general_material,
        -- column material_name). A record carries them as a list of such objects or of names.
        coalesce(
            nullif(json_extract_string(record, '$.materials[*].material_name'), []),
            nullif(list_filter(json_extract_string(record, '$.materials[*]'), name -> not starts_with(name, '{')), [])
        ) as material_names,
        record ->> '申请材料' as materials_text_raw,
        coalesce(record ->> 'anticipate_day', record ->> '法定办结时限') as anticipate_day_raw,
        record ->> 'anticipate_type' as anticipate_type_raw,
        coalesce(record ->> 'promise_day', record ->> '承诺办结时限') as promise_day_raw,
        record ->> 'promise_type' as promise_type_raw,
        coalesce(record ->> 'is_fee', record ->> 'IS_FEE', record ->> '是否收费') as is_fee_raw,
        coalesce(record ->> 'by_law', record ->> 'BY_LAW', record ->> '设定依据') as by_law_raw,
        coalesce(record ->> 'plan_effective_date', record ->> '计划生效日期') as plan_effective_date_raw,
        coalesce(record ->> 'plan_cancel_date', record ->> '计划取消日期') as plan_cancel_date_raw

    from service_items

),

normalized as (

    select
        service_item_id,
        task_code,
        catalog_code,
        coalesce(region_code, link_area_code) as implementation_region_code,
        has_usable_link,
        nullif({{ normalize_text('serve_object_raw') }}, '') as serve_object,
        nullif({{ normalize_text('use_level_raw') }}, '') as use_level,
        nullif({{ normalize_text('handle_area_raw') }}, '') as handle_area,
        nullif({{ normalize_text('accept_condition_raw') }}, '') as accept_condition,
        coalesce(
            nullif(array_to_string(list_sort(list_distinct(
                list_filter(list_transform(material_names, name -> {{ normalize_text('name') }}), name -> name != '')
            )), '；'), ''),
            nullif({{ normalize_text('materials_text_raw') }}, '')
        ) as materials,
        nullif({{ normalize_text('anticipate_day_raw') }}, '') as anticipate_day,
        nullif({{ normalize_text('anticipate_type_raw') }}, '') as anticipate_type,
        nullif({{ normalize_text('promise_day_raw') }}, '') as promise_day,
        nullif({{ normalize_text('promise_type_raw') }}, '') as promise_type,
        nullif({{ normalize_text('is_fee_raw') }}, '') as is_fee,
        nullif({{ normalize_text('by_law_raw') }}, '') as by_law,
        nullif({{ normalize_text('plan_effective_date_raw') }}, '') as plan_effective_date,
        nullif({{ normalize_text('plan_cancel_date_raw') }}, '') as plan_cancel_date

    from extracted

),

final as (

    select
        *,
        -- 办结时限 as one comparable text. The unit codes (anticipate_type, promise_type) are
        -- kept as published because their code list is not in the reference data.
        nullif(concat_ws(
            '；',
            '法定' || anticipate_day || coalesce('（单位代码 ' || anticipate_type || '）', ''),
            '承诺' || promise_day || coalesce('（单位代码 ' || promise_type || '）', '')
        ), '') as time_limit

    from normalized

)

select * from final
