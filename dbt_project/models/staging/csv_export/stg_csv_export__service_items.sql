with

source as (

    select * from {{ source('raw', 'csv_export_records') }}

),

renamed as (

    select
        source_id,
        'csv_export' as source_format,
        run_id,
        landing_file,
        record_position,
        source_id || '#' || record_position as source_record_id,
        nullif(record ->> '事项名称', '') as task_name_raw,
        nullif(record ->> '实施编码', '') as task_code_raw,
        nullif(record ->> '基本编码', '') as catalog_code_raw,
        -- The export publishes the 事项类型 label, never the code.
        cast(null as varchar) as task_type_raw,
        nullif(record ->> '事项类型', '') as task_type_label_raw,
        nullif(record ->> '实施主体', '') as dept_name_raw,
        nullif(record ->> '实施主体编码', '') as dept_code_raw,
        nullif(record ->> '在线办理地址', '') as link_url_raw,
        nullif(record ->> '所属主项', '') as main_task_name_raw,
        record

    from source

)

select * from renamed
