"""(being written)"""
from flask import Blueprint

bp = Blueprint("counter", __name__)
