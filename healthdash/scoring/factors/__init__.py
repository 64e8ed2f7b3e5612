"""The five built-in factors, in display order."""

from healthdash.scoring.factors.api_usage import ApiUsage
from healthdash.scoring.factors.feature_adoption import FeatureAdoption
from healthdash.scoring.factors.invoice_timeliness import InvoiceTimeliness
from healthdash.scoring.factors.login_frequency import LoginFrequency
from healthdash.scoring.factors.ticket_volume import TicketVolume

__all__ = ["ApiUsage", "FeatureAdoption", "InvoiceTimeliness", "LoginFrequency", "TicketVolume"]
