"""Fixed vocabularies of the synthetic township: places, surnames, given names, ethnicities.

Everything here is plain data. Lists are tuples, and are only ever indexed through a seeded
``random.Random``, so their order is part of the generator's output: append, never reorder.
"""

from __future__ import annotations

PROVINCE = "云南省"
CITY = "昆明市"
COUNTY = "富民县"
COUNTY_CODE = "530124"
TOWNSHIP = "永定街道"
TOWNSHIP_CODE = "530124101"

# Village committees (村民委员会) take the 200-399 block of the 3-digit village-level code; 001-199 is
# for urban residents' committees. We stay in that block, which caps a township at 199 villages.
FIRST_VILLAGE_SERIAL = 201
MAX_VILLAGES = 199

# Village names are built from a prefix and a suffix, which gives 20 x 12 = 240 distinct names.
VILLAGE_PREFIXES = (
    "大", "小", "新", "老", "上", "下", "东", "西", "南", "北",
    "石", "龙", "马", "白", "黑", "花", "松", "赤", "青", "麦",
)
VILLAGE_SUFFIXES = ("营", "村", "庄", "坝", "箐", "哨", "河", "甸", "山", "冲", "寨", "屯")

# Villager groups (村民小组) within a village; past the end of this list groups are numbered.
GROUP_NAMES = (
    "下村", "上村", "中村", "大村", "小村", "新村", "老村", "前山", "后山", "河边",
    "箐口", "大沟", "小沟", "坡头", "田心", "龙潭", "石门", "松林", "沙地", "核桃园",
)

# The most common surnames, roughly in order of frequency, with a few typical of central Yunnan
# (普, 字, 段, 者) near the end; weights are relative frequencies in per mille.
SURNAMES = (
    "李", "王", "张", "杨", "刘", "陈", "赵", "黄", "周", "吴",
    "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗",
    "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
    "彭", "曾", "肖", "田", "董", "袁", "潘", "蒋", "蔡", "余",
    "普", "字", "段", "者", "施", "鲁", "毕", "尹", "番", "起",
)
SURNAME_WEIGHTS = (
    95, 80, 75, 70, 55, 45, 30, 25, 22, 22,
    18, 16, 16, 14, 14, 12, 12, 12, 10, 10,
    10, 9, 9, 8, 8, 8, 7, 7, 7, 7,
    6, 6, 6, 6, 6, 5, 5, 5, 5, 5,
    8, 7, 7, 5, 5, 4, 4, 4, 3, 3,
)

# Given-name characters. People born before about 1965 tend to have names from a more traditional
# stock (建国, 秀英, 桂兰), so each sex has an "older" and a "younger" pool.
MALE_CHARS_OLDER = (
    "国", "建", "明", "华", "德", "文", "忠", "发", "富", "贵",
    "荣", "福", "寿", "有", "成", "正", "光", "学", "林", "保",
    "顺", "祥", "开", "永", "才", "生", "和", "清", "兴", "树",
)
MALE_CHARS_YOUNGER = (
    "伟", "强", "军", "勇", "杰", "涛", "斌", "波", "超", "俊",
    "鹏", "宇", "浩", "磊", "帅", "辉", "刚", "飞", "凯", "阳",
    "博", "轩", "睿", "晨", "泽", "昊", "航", "翔", "林", "海",
)
FEMALE_CHARS_OLDER = (
    "秀", "英", "兰", "桂", "芬", "珍", "玉", "凤", "琼", "翠",
    "美", "花", "云", "芳", "仙", "菊", "梅", "莲", "淑", "春",
    "香", "彩", "金", "银", "秋", "月", "素", "贞", "敏", "华",
)
FEMALE_CHARS_YOUNGER = (
    "娟", "敏", "静", "丽", "艳", "霞", "燕", "玲", "萍", "红",
    "琴", "莉", "婷", "雪", "慧", "娜", "丹", "欣", "怡", "佳",
    "梦", "雨", "涵", "琳", "悦", "蕊", "瑶", "倩", "颖", "晶",
)

# Ethnicities (GB/T 3304 codes) in the proportions of a Han-majority county with Yi, Bai, Hani, Dai and
# Lisu communities; weights in per mille.
ETHNICITY_CODES = ("01", "07", "14", "16", "18", "20")
ETHNICITY_WEIGHTS = (820, 90, 25, 20, 15, 30)
