{#
    Resolves every fetched record to a service_item_id through the identity map that earlier runs
    left in int_service_identity. The map is read with adapter.get_relation instead of ref(),
    because int_service_identity is built from this model: a ref would be a cycle. On the first
    build the map does not exist yet and every record gets a new id.

    Identifiers of a record:
      task_code:<实施编码>   only for a standard 实施编码 on a named record
      match_key:<match key>  always; a nameless record's key is 'unnamed#' || source_record_id
    Records that share any identifier in this run form one component (connected through shared
    identifiers), so a renamed record and a record with its old code stay together.

    Resolution of one record, first match wins:
      1. the id its 实施编码 has in the map
      2. the id its match key has in the map
      3. the id of the component's first mapped identifier (task_code identifiers first, then by
         identifier text), when another record of the component is already known
      4. a new id: md5 of the component's smallest match key, which equals the id that the
         name-only match key gave the same records before the map existed
    Conflict rule: when a record's 实施编码 and match key are mapped to two different ids, the
    实施编码 wins (it is the identifier the issuing department assigns), the record is flagged
    with has_identity_conflict, and the map is not rewritten: an identifier keeps its first id.
#}
{#- A unit test has no `this`; it reads no map, so its result does not depend on the warehouse. -#}
{%- set identity_relation = none -%}
{%- if execute and this is not none -%}
    {%- set identity_relation = adapter.get_relation(
        database=this.database, schema=this.schema, identifier='int_service_identity'
    ) -%}
{%- endif %}

with recursive

service_items as (

    select * from {{ ref('int_service_items_codes_parsed') }}

),

keyed as (

    select
        source_record_id,
        case
            -- A record without a name has nothing to match on, so it gets a
            -- key of its own and never merges. The key contains no '|', so it
            -- cannot equal a key built from a name.
            when task_name_key is null then 'unnamed#' || source_record_id
            else task_name_key
                || '|' || coalesce(region_code, link_area_code, '')
                || '|' || coalesce(upper(agency_code), upper(dept_code), '')
        end as match_key,
        -- A nameless record never uses its 实施编码 either: without a name the
        -- record cannot be checked against the service the code names.
        case
            when task_code_pattern = 'standard' and task_name_key is not null
                then 'task_code:' || task_code
        end as task_code_identifier

    from service_items

),

record_identifiers as (

    select source_record_id, 'match_key:' || match_key as identifier, 'match_key' as identifier_kind
    from keyed

    union all

    select source_record_id, task_code_identifier, 'task_code'
    from keyed
    where task_code_identifier is not null

),

identifier_edges as (

    select distinct
        left_side.source_record_id as from_record_id,
        right_side.source_record_id as to_record_id

    from record_identifiers as left_side
    inner join record_identifiers as right_side using (identifier)

),

reachable (record_id, reached_record_id) as (

    -- UNION (not UNION ALL) drops pairs already found, so the recursion ends
    -- once a component has no new record to reach.
    select source_record_id, source_record_id
    from keyed

    union

    select reachable.record_id, identifier_edges.to_record_id
    from reachable
    inner join identifier_edges on reachable.reached_record_id = identifier_edges.from_record_id

),

components as (

    select
        record_id as source_record_id,
        min(reached_record_id) as component_id

    from reachable
    group by record_id

),

identity_map as (

    {% if identity_relation is not none %}
    select identifier, service_item_id from {{ identity_relation }}
    {% else %}
    select cast(null as varchar) as identifier, cast(null as varchar) as service_item_id
    where false
    {% endif %}

),

component_ids as (

    select
        components.component_id,
        md5(min(keyed.match_key)) as new_service_item_id,
        arg_min(
            identity_map.service_item_id,
            (record_identifiers.identifier_kind != 'task_code', record_identifiers.identifier)
        ) filter (where identity_map.service_item_id is not null) as mapped_service_item_id

    from components
    inner join keyed using (source_record_id)
    inner join record_identifiers using (source_record_id)
    left join identity_map using (identifier)
    group by components.component_id

),

resolved as (

    select
        keyed.source_record_id,
        keyed.match_key,
        keyed.task_code_identifier,
        components.component_id,
        code_map.service_item_id as task_code_service_item_id,
        name_map.service_item_id as match_key_service_item_id,
        coalesce(
            code_map.service_item_id,
            name_map.service_item_id,
            component_ids.mapped_service_item_id,
            component_ids.new_service_item_id
        ) as service_item_id,
        case
            when code_map.service_item_id is not null then 'task_code'
            when name_map.service_item_id is not null then 'match_key'
            when component_ids.mapped_service_item_id is not null then 'component'
            else 'new'
        end as identity_resolved_by,
        coalesce(code_map.service_item_id != name_map.service_item_id, false) as has_identity_conflict

    from keyed
    inner join components using (source_record_id)
    inner join component_ids using (component_id)
    left join identity_map as code_map on code_map.identifier = keyed.task_code_identifier
    left join identity_map as name_map on name_map.identifier = 'match_key:' || keyed.match_key

)

select * from resolved
