"""Model monitoring: stability (PSI / CSI), grade migration, back-testing and alerts, with their report."""

from creditscore.monitoring.checks import MonitoringReport, load_monitoring_config, monitor, monitor_store

__all__ = ["MonitoringReport", "load_monitoring_config", "monitor", "monitor_store"]
