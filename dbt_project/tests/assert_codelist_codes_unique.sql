-- A row is a code that appears more than once in one code list, which would
-- give a code two labels and duplicate rows in every join on the code list.
select
    field_name,
    code,
    count(*) as row_count

from {{ ref('stg_reference__service_item_codelists') }}
group by field_name, code
having count(*) > 1
