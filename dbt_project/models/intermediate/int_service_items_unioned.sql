with

json_api_items as (

    select * from {{ ref('stg_json_api__service_items') }}

),

csv_export_items as (

    select * from {{ ref('stg_csv_export__service_items') }}

),

xml_export_items as (

    select * from {{ ref('stg_xml_export__service_items') }}

),

unioned as (

    select * from json_api_items
    union all by name
    select * from csv_export_items
    union all by name
    select * from xml_export_items

),

final as (

    select
        source_record_id,
        source_id,
        source_format,
        run_id,
        landing_file,
        record_position,
        task_name_raw,
        task_code_raw,
        catalog_code_raw,
        task_type_raw,
        task_type_label_raw,
        dept_name_raw,
        dept_code_raw,
        link_url_raw,
        main_task_name_raw,
        record

    from unioned

)

select * from final
