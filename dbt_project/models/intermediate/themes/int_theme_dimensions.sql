-- The eight classification dimensions of the principles for choosing services, with the
-- Chinese labels that editors read in the composition report.
with

final as (

    select * from (
        values
            (1, 'resource_kind', '资源类型'),
            (2, 'audience_breadth', '受众范围'),
            (3, 'region_scope', '地域范围'),
            (4, 'link_mode', '链接方式'),
            (5, 'standardization', '标准化程度'),
            (6, 'duration', '时效'),
            (7, 'responsible_body', '责任主体'),
            (8, 'maturity', '成熟度')
    ) as dimensions (dimension_position, dimension, dimension_label)

)

select * from final
