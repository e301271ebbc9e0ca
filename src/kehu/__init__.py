"""kehu (客户): one trustworthy record per customer."""

__version__ = "0.1.0"
