"""The one table of messages shown to people who fill in forms, in Chinese and English.

Every validation message — type, constraint and dictionary — is looked up here by code,
so a wording is changed in one place and both languages stay side by side. Chinese is the
default; any language tag starting with "en" gets English, anything else Chinese.
"""
from __future__ import annotations

from typing import Any

# code → (zh-CN, en). Placeholders use str.format names.
MESSAGES: dict[str, tuple[str, str]] = {
    # presence and shape
    "required": ("此项为必填项", "This field is required."),
    "unknown_field": ("未知字段", "Unknown field."),
    "malformed_data": ("提交的数据格式不正确", "The submitted data is malformed."),
    "form_invalid": ("提交的内容有 {n} 处需要更正", "{n} field(s) need correcting."),
    "not_text": ("请输入文本", "Enter text."),
    "control_chars": ("不能包含控制字符", "Must not contain control characters."),
    # types
    "not_integer": ("请输入整数", "Enter a whole number."),
    "integer_range": ("整数超出允许范围", "The number is out of range."),
    "not_number": ("请输入数字", "Enter a number."),
    "number_too_long": ("数字位数过多", "The number has too many digits."),
    "not_boolean": ("请选择“是”或“否”", "Choose yes or no."),
    "not_date": ("请输入有效日期，格式为 YYYY-MM-DD", "Enter a valid date (YYYY-MM-DD)."),
    "date_before_1900": ("日期不能早于 1900 年", "The date cannot be before 1900."),
    "invalid_choice": ("请选择有效的选项", "Select a valid choice."),
    "invalid_upload": ("请上传文件并提交其文件标识", "Upload the file and submit its upload id."),
    # constraints
    "too_short": ("不得少于 {n} 个字符", "Enter at least {n} characters."),
    "too_long": ("不得超过 {n} 个字符", "Enter at most {n} characters."),
    "too_small": ("不能小于 {n}", "Must be at least {n}."),
    "too_large": ("不能大于 {n}", "Must be at most {n}."),
    "date_too_early": ("不能早于 {n}", "Must not be before {n}."),
    "date_too_late": ("不能晚于 {n}", "Must not be after {n}."),
    "pattern": ("格式不正确", "The format is not valid."),
    # shared dictionary
    "credit_code_length": ("统一社会信用代码应为 18 位",
                           "A unified social credit code has 18 characters."),
    "credit_code_chars": ("统一社会信用代码只能由数字和大写字母组成（不使用 I、O、Z、S、V）",
                          ("A unified social credit code uses digits and capital letters "
                           "except I, O, Z, S, V.")),
    "credit_code_authority": ("统一社会信用代码的登记管理部门代码不正确",
                              ("The registration authority code of the unified social "
                               "credit code is not valid.")),
    "credit_code_category": ("统一社会信用代码的机构类别代码不正确",
                             ("The organisation category code of the unified social "
                              "credit code is not valid.")),
    "credit_code_region": ("统一社会信用代码的行政区划码不正确",
                           "The region code of the unified social credit code is not valid."),
    "credit_code_check": ("统一社会信用代码校验位不正确",
                          "The check character of the unified social credit code is wrong."),
    "id_number_length": ("居民身份证号码应为 18 位", "A resident ID number has 18 characters."),
    "id_number_format": ("居民身份证号码前 17 位应为数字，末位为数字或 X",
                         "A resident ID number is 17 digits followed by a digit or X."),
    "id_number_birth": ("居民身份证号码中的出生日期不正确",
                        "The birth date in the resident ID number is not valid."),
    "id_number_future": ("居民身份证号码中的出生日期晚于今天",
                         "The birth date in the resident ID number is in the future."),
    "id_number_check": ("居民身份证号码校验位不正确",
                        "The check digit of the resident ID number is wrong."),
    "mobile": ("请输入有效的 11 位手机号码", "Enter a valid 11-digit mobile number."),
    "phone": ("请填写 11 位手机号码或带区号的固定电话",
              "Enter an 11-digit mobile number or a landline with its area code."),
    "project_code_format": ("投资项目代码格式应为 YYYY-XXXXXX-XX-XX-XXXXXX",
                            "An investment project code looks like YYYY-XXXXXX-XX-XX-XXXXXX."),
    "project_code_year": ("投资项目代码中的年份不正确",
                          "The year in the investment project code is not valid."),
    "postal_code": ("邮政编码应为 6 位数字", "A postal code has 6 digits."),
    "person_name": ("姓名应为 2 至 30 个汉字或字母，可含间隔号“·”",
                    ("A name has 2 to 30 Chinese characters or letters, with an optional "
                     "middle dot.")),
    "name_text": ("请输入 2 至 {n} 个字符，且须包含汉字或字母",
                  "Enter 2 to {n} characters, including Chinese characters or letters."),
}

LANGUAGES = ("zh", "en")


def language(lang: str | None) -> str:
    """Map a language tag ("en", "en-US", "zh-CN", None …) to one of LANGUAGES."""
    return "en" if (lang or "").lower().startswith("en") else "zh"


def message(code: str, lang: str | None = "zh", **params: Any) -> str:
    """The message for `code` in `lang`, with `params` filled in.

    An unknown code is a programming error and raises KeyError.
    """
    zh, en = MESSAGES[code]
    text = en if language(lang) == "en" else zh
    return text.format(**params) if params else text


class InvalidValue(ValueError):
    """A value was refused. Carries a message code so the caller can render either language.

    `str(exc)` and `exc.message` are the Chinese message; `exc.render("en")` the English.
                                                                      """

    def __init__(self, code: str, **params: Any):
        self.code = code
        self.params = params
        super().__init__(message(code, "zh", **params))

    @property
    def message(self) -> str:
        """The Chinese message."""
        return self.args[0]

    def render(self, lang: str | None = "zh") -> str:
        """The message in `lang`."""
        return message(self.code, lang, **self.params)
