"""Every department export the generator writes, as ``adapters/README.md`` lays it out: one place for the contract.

SQL sources are tables in a SQLite file; their rows start with the ``id`` column, which the writer fills
in insertion order. Drop-folder sources are files in a folder, CSV (with the department's encoding) or
XLSX, all with a Chinese header row. Change a layout here, in the README and in the adapter together.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Layout:
    """One source: the adapter that reads it, where it lives, and its columns in order."""

    source: str  # the adapter's name, also the source's key in the manifest
    path: str  # relative to the data folder: the SQLite file, or the drop folder
    columns: tuple[str, ...]
    table: str = ""  # SQL sources only
    stem: str = ""  # drop folders only: file name without suffix (parts add -001, -002...)
    suffix: str = ""  # ".csv" or ".xlsx"
    encoding: str = ""  # CSV only

    def index(self, column: str) -> int:
        """Position of ``column`` in a row."""
        return self.columns.index(column)


PUBLIC_SECURITY_DB = "public_security.db"
HUMAN_RESOURCES_DB = "human_resources.db"

HJXX_CZRK = Layout(
    "public_security", PUBLIC_SECURITY_DB, table="hjxx_czrk",
    columns=("id", "gmsfhm", "xm", "xbdm", "mzdm", "csrq", "hh", "yhzgxdm", "zz", "xzqhdm", "wgdm", "ryzt",
             "gxsj"))
HJXX_HXX = Layout(
    "public_security_households", PUBLIC_SECURITY_DB, table="hjxx_hxx",
    columns=("id", "hh", "hzgmsfhm", "hlbdm", "ssxq_sheng", "ssxq_shi", "ssxq_xian", "ssxq_xiang", "ssxq_cun",
             "xxdz", "xzqhdm", "wgdm", "hrs", "gxsj"))
HJXX_HCYBD = Layout(
    "public_security_members", PUBLIC_SECURITY_DB, table="hjxx_hcybd",
    columns=("id", "hh", "gmsfhm", "yhzgxdm", "qrrq", "qcrq", "gxsj"))
HJXX_SWZX = Layout(
    "public_security_deaths", PUBLIC_SECURITY_DB, table="hjxx_swzx",
    columns=("id", "gmsfhm", "xm", "swrq", "swdd", "swyydm", "swzmbh", "zxrq", "gxsj"))
YL_CBXX = Layout(
    "human_resources", HUMAN_RESOURCES_DB, table="yl_cbxx",
    columns=("id", "sfzhm", "xm", "xzlx", "cbzt", "yljje", "ksrq", "gxsj"))

ASSISTANCE = Layout(
    "civil_affairs", "civil_affairs/assistance", stem="assistance", suffix=".csv", encoding="utf-8-sig",
    columns=("记录编号", "身份证号", "姓名", "救助类别", "状态", "开始日期", "结束日期", "月发放金额", "更新时间",
             "居住地址"))
FUNERALS = Layout(
    "civil_affairs_funerals", "civil_affairs/funerals", stem="funerals", suffix=".xlsx",
    columns=("火化证编号", "身份证号", "姓名", "死亡日期", "火化日期", "殡仪馆", "更新时间"))
CHRONIC_DISEASES = Layout(
    "health_chronic_diseases", "health/chronic_diseases", stem="chronic_diseases", suffix=".csv",
    encoding="gb18030",
    columns=("档案编号", "身份证号", "姓名", "疾病", "确诊日期", "管理机构", "末次随访日期", "管理状态", "更新时间"))
FAMILY_DOCTORS = Layout(
    "health_family_doctors", "health/family_doctors", stem="family_doctors", suffix=".csv", encoding="utf-8-sig",
    columns=("签约编号", "身份证号", "姓名", "团队名称", "签约医生", "签约日期", "到期日期", "服务包", "更新时间"))
CERTIFICATES = Layout(
    "disabled_persons", "disabled_persons", stem="certificates", suffix=".xlsx",
    columns=("残疾人证号", "身份证号", "姓名", "残疾类别", "残疾等级", "发证日期", "有效期至", "证件状态", "更新时间"))
ENROLMENTS = Layout(
    "education", "education", stem="enrolments", suffix=".csv", encoding="utf-8-sig",
    columns=("全国学籍号", "身份证号", "姓名", "学校名称", "学校标识码", "学段", "年级", "学籍状态", "学年", "是否寄宿",
             "更新时间"))
MONITORING = Layout(
    "agriculture", "agriculture", stem="monitoring", suffix=".xlsx",
    columns=("户编号", "户主身份证号", "户主姓名", "监测对象类别", "风险类型", "识别日期", "监测状态", "家庭人均纯收入",
             "最近走访日期", "更新时间"))

# In the order of the README's table; the manifest lists sources in this order.
LAYOUTS = (HJXX_CZRK, HJXX_HXX, HJXX_HCYBD, HJXX_SWZX, ASSISTANCE, FUNERALS, YL_CBXX, CHRONIC_DISEASES,
           FAMILY_DOCTORS, CERTIFICATES, ENROLMENTS, MONITORING)
SOURCES = tuple(layout.source for layout in LAYOUTS)
