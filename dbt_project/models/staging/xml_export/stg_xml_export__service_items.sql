with

source as (

    select * from {{ source('raw', 'xml_export_records') }}

),

renamed as (

    select
        source_id,
        'xml_export' as source_format,
        run_id,
        landing_file,
        record_position,
        source_id || '#' || record_position as source_record_id,
        record ->> 'task_name' as task_name_raw,
        record ->> 'task_code' as task_code_raw,
        record ->> 'catalog_code' as catalog_code_raw,
        record ->> 'task_type' as task_type_raw,
        cast(null as varchar) as task_type_label_raw,
        record ->> 'dept_name' as dept_name_raw,
        record ->> 'dept_code' as dept_code_raw,
        record ->> 'link_addr' as link_url_raw,
        record ->> 'main_task_name' as main_task_name_raw,
        record

    from source

)

select * from renamed
