"""Every text of the dashboard in Simplified Chinese and English.

A label may hold ``str.format`` fields, e.g. ``{count}``. Data keeps its own language: department
and theme names, and reasons that the audit records only in Chinese, show as they are.
"""

from __future__ import annotations

from datetime import timedelta

LANGUAGES = ("zh", "en")

LABELS: dict[str, dict[str, str]] = {
    # Layout
    "site_title": {"zh": "汇聚 · 集成状态看板", "en": "Huiju · Integration status"},
    "nav_overview": {"zh": "部门概览", "en": "Departments"},
    "nav_runs": {"zh": "运行记录", "en": "Runs"},
    "nav_versions": {"zh": "发布版本", "en": "Publications"},
    "nav_themes": {"zh": "服务主题", "en": "Themes"},
    "switch_language": {"zh": "English", "en": "中文"},
    "footer_version": {"zh": "当前版本：{version}", "en": "Current version: {version}"},
    "footer_times": {"zh": "时间均为北京时间（UTC+8）。本看板只读，不修改任何数据。",
                     "en": "Times are Beijing time (UTC+8). This dashboard is read-only and changes no data."},
    "no_version": {
        "zh": "尚未发布任何版本。运行一次流水线（huiju run 或 huiju demo）后，这里会显示各部门的集成状态。",
        "en": "No version has been published yet. Run the pipeline once (huiju run or huiju demo) "
              "and this page will show the integration status of each department.",
    },
    "not_found_title": {"zh": "未找到", "en": "Not found"},
    "back_to_overview": {"zh": "返回部门概览", "en": "Back to departments"},
    "none": {"zh": "无", "en": "none"},
    "yes": {"zh": "是", "en": "yes"},
    "no": {"zh": "否", "en": "no"},
    "total": {"zh": "合计", "en": "Total"},
    "current": {"zh": "当前", "en": "current"},
    "dash": {"zh": "—", "en": "—"},

    # Counts
    "count_fetched": {"zh": "抓取", "en": "Fetched"},
    "count_published": {"zh": "发布", "en": "Published"},
    "count_quarantined": {"zh": "隔离", "en": "Quarantined"},
    "count_merged": {"zh": "合并", "en": "Merged"},
    "count_flagged": {"zh": "存疑", "en": "Suspect"},
    "count_withdrawn": {"zh": "撤销", "en": "Withdrawn"},
    "count_help": {
        "zh": "抓取 = 发布 + 隔离 + 合并。隔离：未通过校验、未发布；合并：与其他记录重复并入同一事项；"
              "存疑：已发布但带质量提示；撤销：来源不再提供的事项。",
        "en": "Fetched = published + quarantined + merged. Quarantined: failed a check and not published. "
              "Merged: a duplicate folded into another record's item. Suspect: published with a quality warning. "
              "Withdrawn: items that the source no longer lists.",
    },

    # Overview
    "overview_title": {"zh": "各部门集成状态", "en": "Integration status by department"},
    "overview_intro": {
        "zh": "按来源登记中的负责部门汇总当前发布版本的记录去向、最近一次运行结果和抓取新鲜度。",
        "en": "Where each department's records went in the current version, the outcome of the last run, "
              "and how fresh each department's data is, grouped by the owner in the source registry.",
    },
    "summary_departments": {"zh": "部门", "en": "Departments"},
    "summary_sources": {"zh": "事项来源", "en": "Service sources"},
    "summary_overdue": {"zh": "逾期部门", "en": "Overdue departments"},
    "summary_failed": {"zh": "最近运行失败的部门", "en": "Departments failed in last run"},
    "last_run_line": {"zh": "最近一次运行：{status}，开始于 {time}，耗时 {duration}。",
                      "en": "Last run: {status}, started {time}, took {duration}."},
    "view_run": {"zh": "查看运行 {run}", "en": "View run {run}"},
    "service_totals": {"zh": "全部事项来源合计（{count} 个来源）", "en": "All service sources ({count})"},
    "no_runs_yet": {"zh": "还没有运行记录。", "en": "No run records yet."},
    "chart_departments_title": {"zh": "各部门记录去向", "en": "Where each department's records went"},
    "chart_departments_note": {
        "zh": "每个部门一条：发布、隔离、合并叠加为抓取总数；下方细条为已发布记录中存疑的条数。点击部门名查看质量报告。",
        "en": "One bar per department: published, quarantined and merged add up to fetched. "
              "The thin bar below counts the published records that are suspect. Click a name for its quality report.",
    },
    "departments_table_title": {"zh": "部门明细", "en": "Departments"},
    "departments_order": {
        "zh": "需要关注的部门在前：最近运行失败、逾期或沿用旧数据的部门，其次按隔离和存疑记录数从多到少。",
        "en": "Departments that need attention come first: failed in the last run, overdue or stale, "
              "then by quarantined and suspect records, most first.",
    },
    "col_department": {"zh": "部门", "en": "Department"},
    "col_sources": {"zh": "来源", "en": "Sources"},
    "col_last_run": {"zh": "最近运行", "en": "Last run"},
    "col_freshness": {"zh": "新鲜度", "en": "Freshness"},
    "col_stale": {"zh": "沿用旧数据", "en": "Stale"},
    "col_top_reasons": {"zh": "主要问题（记录数）", "en": "Top problems (records)"},
    "col_report": {"zh": "质量报告", "en": "Quality report"},
    "view_report": {"zh": "查看", "en": "View"},
    "no_own_source": {"zh": "无登记来源", "en": "no registered source"},
    "other_owners_title": {"zh": "其他事项来源", "en": "Other service sources"},
    "other_owners_intro": {
        "zh": "负责方不是目录中实施主体的事项来源，例如转载各部门事项的省级平台。其记录通常合并进各部门的事项。",
        "en": "Service sources whose owner is not an implementing agency of the catalog, such as a provincial "
              "portal that republishes departments' items. Their records usually merge into the departments' items.",
    },
    "col_owner": {"zh": "负责方", "en": "Owner"},
    "content_title": {"zh": "通知公告与政策文件", "en": "Notices and policy documents"},
    "content_intro": {"zh": "门户网站的内容订阅源：抓取 = 发布 + 隔离 + 合并。",
                      "en": "The portal's content feeds: fetched = published + quarantined + merged."},
    "col_source": {"zh": "来源", "en": "Source"},
    "col_name": {"zh": "名称", "en": "Name"},
    "col_kind": {"zh": "内容类型", "en": "Kind"},
    "col_format": {"zh": "格式", "en": "Format"},
    "col_schedule": {"zh": "计划", "en": "Schedule"},
    "stale_yes": {"zh": "是（沿用上次数据）", "en": "yes (last good data kept)"},

    # Freshness
    "freshness_on_time": {"zh": "正常", "en": "On time"},
    "freshness_overdue": {"zh": "逾期", "en": "Overdue"},
    "freshness_unknown": {"zh": "未知", "en": "Unknown"},
    "freshness_detail": {"zh": "距上次成功抓取 {age}，计划间隔 {interval}",
                         "en": "last fetched {age} ago, scheduled every {interval}"},
    "freshness_never": {"zh": "没有成功抓取的记录", "en": "never fetched successfully"},
    "freshness_no_schedule": {"zh": "来源登记中没有有效的计划", "en": "no valid schedule in the source registry"},
    "freshness_help": {
        "zh": "上次成功抓取距今超过一个计划间隔再加 1 小时（留给运行完成的时间）即为逾期。",
        "en": "A source is overdue when its last successful fetch is older than one schedule interval "
              "plus 1 hour allowed for a run to finish.",
    },
    "minutes": {"zh": "{n} 分钟", "en": "{n} min"},
    "hours": {"zh": "{n} 小时", "en": "{n} h"},
    "days": {"zh": "{n} 天", "en": "{n} d"},
    "seconds": {"zh": "{n} 秒", "en": "{n} s"},

    # Statuses of sources, stages and runs
    "status_landed": {"zh": "已载入", "en": "loaded"},
    "status_unchanged": {"zh": "未变化", "en": "unchanged"},
    "status_replayed": {"zh": "已重放", "en": "replayed"},
    "status_failed": {"zh": "失败", "en": "failed"},
    "status_succeeded": {"zh": "成功", "en": "succeeded"},
    "status_passed": {"zh": "通过", "en": "passed"},
    "status_blocked": {"zh": "拦截", "en": "blocked"},
    "status_partial": {"zh": "部分成功", "en": "partly succeeded"},
    "status_skipped": {"zh": "跳过", "en": "skipped"},
    "status_running": {"zh": "运行中", "en": "running"},
    "status_pending": {"zh": "等待中", "en": "pending"},
    "status_unknown": {"zh": "未知", "en": "unknown"},

    # Formats and content kinds
    "format_json_api": {"zh": "JSON 接口", "en": "JSON API"},
    "format_csv_export": {"zh": "CSV 导出", "en": "CSV export"},
    "format_xml_export": {"zh": "XML 导出", "en": "XML export"},
    "format_rss_feed": {"zh": "RSS 订阅", "en": "RSS feed"},
    "format_atom_feed": {"zh": "Atom 订阅", "en": "Atom feed"},
    "kind_notice": {"zh": "通知公告", "en": "Notices"},
    "kind_policy_document": {"zh": "政策文件", "en": "Policy documents"},
    "kind_policy_interpretation": {"zh": "政策解读", "en": "Policy interpretations"},

    # Severities
    "severity_quarantined": {"zh": "隔离", "en": "quarantined"},
    "severity_suspect": {"zh": "存疑", "en": "suspect"},
    "severity_block": {"zh": "隔离", "en": "quarantined"},
    "severity_warn": {"zh": "存疑", "en": "suspect"},

    # Runs
    "runs_title": {"zh": "运行记录", "en": "Pipeline runs"},
    "runs_intro": {"zh": "每次运行依次经过抓取、转换、校验和发布四个阶段。",
                   "en": "Each run goes through harvest, transform, audit and publish."},
    "chart_runs_title": {"zh": "各次运行的阶段耗时", "en": "Stage durations per run"},
    "col_run": {"zh": "运行", "en": "Run"},
    "col_started": {"zh": "开始时间", "en": "Started"},
    "col_duration": {"zh": "耗时", "en": "Duration"},
    "col_status": {"zh": "状态", "en": "Status"},
    "col_published_version": {"zh": "发布版本", "en": "Published version"},
    "col_failed_sources": {"zh": "失败来源", "en": "Failed sources"},
    "col_stale_sources": {"zh": "沿用旧数据的来源", "en": "Stale sources"},
    "col_message": {"zh": "说明", "en": "Message"},
    "unchanged_version": {"zh": "（内容未变化，沿用）", "en": "(content unchanged, kept)"},
    "run_title": {"zh": "运行 {run}", "en": "Run {run}"},
    "run_not_found": {"zh": "未找到运行记录 {run}。请从运行记录页选择一次运行。",
                      "en": "Run {run} not found. Choose a run on the runs page."},
    "field_finished": {"zh": "结束时间", "en": "Finished"},
    "field_current_version": {"zh": "运行结束时的当前版本", "en": "Current version when the run ended"},
    "stages_title": {"zh": "阶段", "en": "Stages"},
    "chart_stages_title": {"zh": "各阶段耗时", "en": "Duration of each stage"},
    "col_stage": {"zh": "阶段", "en": "Stage"},
    "col_result": {"zh": "结果", "en": "Result"},
    "col_error": {"zh": "错误", "en": "Error"},
    "stage_harvest": {"zh": "抓取", "en": "harvest"},
    "stage_replay": {"zh": "重放", "en": "replay"},
    "stage_transform": {"zh": "转换", "en": "transform"},
    "stage_audit": {"zh": "校验", "en": "audit"},
    "stage_publish": {"zh": "发布", "en": "publish"},
    "gates_title": {"zh": "发布关卡", "en": "Gates"},
    "col_gate": {"zh": "关卡", "en": "Gate"},
    "gate_passed": {"zh": "通过", "en": "passed"},
    "gate_failed": {"zh": "未通过", "en": "failed"},
    "no_gates": {"zh": "本次运行没有执行到发布关卡。", "en": "This run did not reach the gates."},
    "failed_sources_title": {"zh": "失败的来源", "en": "Failed sources"},
    "no_failed_sources": {"zh": "本次运行没有失败的来源。", "en": "No source failed in this run."},
    "col_failed_stage": {"zh": "失败环节", "en": "Failed at"},
    "col_url": {"zh": "地址", "en": "URL"},
    "col_http_status": {"zh": "HTTP 状态", "en": "HTTP status"},
    "col_reason": {"zh": "原因", "en": "Reason"},
    "warnings_title": {"zh": "结构变化提示", "en": "Schema warnings"},
    "sources_title": {"zh": "各来源结果", "en": "Sources"},
    "rules_title": {"zh": "校验规则命中", "en": "Rule decisions"},
    "col_rule": {"zh": "规则", "en": "Rule"},
    "col_severity": {"zh": "严重程度", "en": "Severity"},
    "col_records": {"zh": "记录数", "en": "Records"},

    # Publications
    "versions_title": {"zh": "发布版本", "en": "Publications"},
    "publications_title": {"zh": "发布记录", "en": "Publication history"},
    "publications_intro": {"zh": "每次切换当前版本（发布或回滚）的记录，最新的在前。",
                           "en": "Every switch of the current version (publish or rollback), newest first."},
    "publications_inferred": {
        "zh": "未找到发布日志 publications.jsonl，以下记录按各版本的清单推断，不含回滚。",
        "en": "No publications.jsonl log was found, so this history is inferred from the versions' manifests "
              "and shows no rollbacks.",
    },
    "no_publications": {"zh": "还没有发布记录。", "en": "Nothing has been published yet."},
    "col_time": {"zh": "时间", "en": "Time"},
    "col_action": {"zh": "操作", "en": "Action"},
    "col_version": {"zh": "版本", "en": "Version"},
    "col_previous": {"zh": "之前的版本", "en": "Previous version"},
    "action_publish": {"zh": "发布", "en": "publish"},
    "action_rollback": {"zh": "回滚", "en": "rollback"},
    "version_list_title": {"zh": "版本列表", "en": "Versions"},
    "col_created": {"zh": "创建时间", "en": "Created"},
    "col_service_items": {"zh": "事项数", "en": "Service items"},
    "col_quarantine_rows": {"zh": "隔离记录", "en": "Quarantined"},
    "col_flagged": {"zh": "存疑记录", "en": "Suspect"},
    "col_content_items": {"zh": "内容条目", "en": "Content items"},
    "changes_title": {"zh": "版本间变化", "en": "Changes between versions"},
    "changes_intro": {
        "zh": "按创建顺序比较相邻两个版本的事项（按部门）和主题步骤中的事项（按主题）。新增：只在新版本中；移除：只在旧版本中；变化：两版都有但内容不同。",
        "en": "Consecutive versions in order of creation, compared by service item (per department) and by the "
              "items in theme steps (per theme). Added: only in the newer version. Removed: only in the older one. "
              "Changed: in both with different values.",
    },
    "changes_single": {"zh": "只有一个版本，暂无可比较的变化。", "en": "There is only one version, so nothing to compare."},
    "changes_none": {"zh": "两个版本的事项和主题步骤相同。", "en": "The two versions have the same items and theme steps."},
    "changes_pair": {"zh": "{older} → {newer}", "en": "{older} → {newer}"},
    "changes_by_department": {"zh": "按部门", "en": "By department"},
    "changes_by_theme": {"zh": "按主题", "en": "By theme"},
    "col_added": {"zh": "新增", "en": "Added"},
    "col_removed": {"zh": "移除", "en": "Removed"},
    "col_changed": {"zh": "变化", "en": "Changed"},
    "col_theme": {"zh": "主题", "en": "Theme"},

    # Themes
    "themes_title": {"zh": "服务主题", "en": "Service themes"},
    "coverage_title": {"zh": "部门覆盖", "en": "Department coverage"},
    "coverage_intro": {"zh": "每格为该部门在该主题各步骤中的事项数，颜色越深事项越多。",
                       "en": "Each cell counts the department's service items in the theme's steps; darker means more."},
    "chart_coverage_title": {"zh": "各部门在各主题中的事项数", "en": "Service items per department and theme"},
    "coverage_cell": {"zh": "{row} · {column}：{count} 项", "en": "{row} · {column}: {count} items"},
    "coverage_none": {"zh": "当前版本的主题步骤中没有事项。", "en": "The theme steps of the current version have no items."},
    "departments_without_theme": {"zh": "未参与任何主题的部门（{count} 个）：", "en": "Departments in no theme ({count}):"},
    "composition_title": {"zh": "主题构成（八项原则）", "en": "Theme composition (eight principles)"},
    "composition_intro": {
        "zh": "每个维度上为主、为辅和未知事项的占比。标 ⚠ 的维度违反了构成原则。",
        "en": "Shares of primary, secondary and unknown services on each dimension. "
              "Dimensions marked ⚠ break a composition principle.",
    },
    "share_primary": {"zh": "为主", "en": "Primary"},
    "share_secondary": {"zh": "为辅", "en": "Secondary"},
    "share_unknown": {"zh": "未知", "en": "Unknown"},
    "theme_services": {"zh": "{count} 项事项", "en": "{count} service items"},
    "theme_inactive": {"zh": "未启用", "en": "inactive"},
    "audience_natural_person": {"zh": "面向自然人", "en": "for natural persons"},
    "audience_legal_person": {"zh": "面向法人", "en": "for legal persons"},
    "result_pass": {"zh": "通过", "en": "pass"},
    "result_warn": {"zh": "警告", "en": "warn"},
    "result_block": {"zh": "拦截", "en": "blocked"},
    "breaches_title": {"zh": "原则提示", "en": "Principle breaches"},
    "gaps_title": {"zh": "空缺步骤", "en": "Steps without services"},
    "unpublished_title": {"zh": "被原则拦截、未发布的主题", "en": "Themes blocked by a principle and not published"},
    "no_compositions": {"zh": "当前版本没有主题构成数据。", "en": "The current version has no theme composition."},
    "dimension_resource_kind": {"zh": "资源类型", "en": "Resource kind"},
    "dimension_audience_breadth": {"zh": "受众范围", "en": "Audience breadth"},
    "dimension_region_scope": {"zh": "区域范围", "en": "Region scope"},
    "dimension_link_mode": {"zh": "链接方式", "en": "Link mode"},
    "dimension_standardization": {"zh": "规范程度", "en": "Standardization"},
    "dimension_duration": {"zh": "时间周期", "en": "Duration"},
    "dimension_responsible_body": {"zh": "责任部门", "en": "Responsible body"},
    "dimension_maturity": {"zh": "实现程度", "en": "Maturity"},

    # Quality report
    "report_title": {"zh": "{department} 数据质量报告", "en": "Data quality report: {department}"},
    "report_version": {"zh": "发布版本 {version}，创建于 {time}", "en": "Published version {version}, created {time}"},
    "report_sources": {"zh": "本报告涵盖的来源：{sources}", "en": "Sources covered: {sources}"},
    "report_intro": {
        "zh": "隔离记录未通过校验，门户未发布；存疑记录已发布，但带有质量提示。请在本部门系统中修正后等待下次抓取。",
        "en": "Quarantined records failed a check and the portal does not publish them. Suspect records are "
              "published with a quality warning. Correct them in the department's system; the next fetch picks "
              "up the fix.",
    },
    "report_quarantined_label": {"zh": "隔离记录（条）", "en": "Quarantined records"},
    "report_suspect_label": {"zh": "存疑记录（条）", "en": "Suspect records"},
    "report_download_csv": {"zh": "下载 CSV（Excel 可直接打开）", "en": "Download CSV (opens in Excel)"},
    "report_by_rule": {"zh": "按规则汇总", "en": "By rule"},
    "report_records": {"zh": "问题记录明细", "en": "Records"},
    "report_clean": {
        "zh": "本版本中该部门没有被隔离或存疑的记录，无需修正。",
        "en": "No record of this department is quarantined or suspect in this version; nothing needs correcting.",
    },
    "report_no_sources": {
        "zh": "来源登记中没有以该部门为负责方的来源，因此本报告没有需要它修正的记录。",
        "en": "No source in the registry has this department as its owner, so there is nothing for it to correct.",
    },
    "report_no_version": {"zh": "尚未发布任何版本，暂无质量报告。", "en": "No version has been published yet, so there is no report."},
    "report_unknown_department": {
        "zh": "未找到部门 {department}。请从部门概览页的“质量报告”链接进入。",
        "en": "Department {department} not found. Open a report from the Quality report links on the departments page.",
    },
    "show_record": {"zh": "展开", "en": "Show"},
}


def translate(key: str, lang: str, **fields: object) -> str:
    """Return the label ``key`` in ``lang`` with ``fields`` filled in. Raise KeyError for an unknown key."""
    text = LABELS[key][lang]
    return text.format(**fields) if fields else text


def label_or_value(prefix: str, value: str | None, lang: str) -> str:
    """Return the label ``<prefix>_<value>``, or ``value`` itself when no such label exists."""
    if value is None:
        return LABELS["dash"][lang]
    entry = LABELS.get(f"{prefix}_{value}")
    return entry[lang] if entry else value


def format_span(span: timedelta | None, lang: str) -> str:
    """Render a time span in whole minutes, hours or days, rounded down."""
    if span is None:
        return LABELS["dash"][lang]
    seconds = max(0, int(span.total_seconds()))
    if seconds < 3600:
        return translate("minutes", lang, n=seconds // 60)
    if seconds < 2 * 86400:
        return translate("hours", lang, n=seconds // 3600)
    return translate("days", lang, n=seconds // 86400)


def format_seconds(seconds: float | None, lang: str) -> str:
    if seconds is None:
        return LABELS["dash"][lang]
    return translate("seconds", lang, n=f"{seconds:,.1f}")
