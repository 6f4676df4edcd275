<%@ page contentType="text/plain; charset=UTF-8" import="java.net.*,java.util.*" %><%
// The endpoints Tomcat was configured with (JAVA_OPTS from setenv.sh), and whether each accepts
// a TCP connection from inside Tomcat. One line per endpoint: NAME HOST:PORT reachable|unreachable.
String[][] endpoints = {
    {"es.node.hosts", System.getProperty("es.node.hosts", ""), "9200"},
    {"db.encompass.hosts", System.getProperty("db.encompass.hosts", ""), "27017"},
    {"db.audit.hosts", System.getProperty("db.audit.hosts", ""), "27018"},
};
out.println("es.cluster.name " + System.getProperty("es.cluster.name", ""));
for (String[] e : endpoints) {
    String target = e[1];
    if (target.isEmpty()) { out.println(e[0] + " (unset) unreachable"); continue; }
    String host = target.contains(":") ? target.substring(0, target.lastIndexOf(':')) : target;
    int port = Integer.parseInt(target.contains(":") ? target.substring(target.lastIndexOf(':') + 1) : e[2]);
    String state = "unreachable";
    try (Socket s = new Socket()) { s.connect(new InetSocketAddress(host, port), 2000); state = "reachable"; }
    catch (Exception ex) { state = "unreachable"; }
    out.println(e[0] + " " + host + ":" + port + " " + state);
}
%>
